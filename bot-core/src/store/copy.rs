//! Moving over: a SQLite store copied into an empty PostgreSQL one
//! (`hearth store copy`), every table but the migrations' own and the
//! leases (which name processes of the old store), in one transaction, and
//! checked table by table afterwards.
//!
//! The target's schema says how to read each column (a BIGINT as an
//! integer, a BOOLEAN as a flag, …); a value the source holds in another
//! type stops the copy with the table and column named, and nothing is
//! written.

use sqlx::Row as _;

use super::{Backend, Pool, Store, Value, query, query_as, query_scalar};
use crate::error::{Context, Error, Result};

/// Tables a copy leaves out: sqlx's record of migrations (the target has
/// its own) and the leases (held by processes of the old store).
const NOT_COPIED: &[&str] = &["_sqlx_migrations", "leases"];
/// Rows read and written at a time.
const BATCH: i64 = 500;

/// How many rows each table holds in both stores after a copy, by table.
pub type Counts = Vec<(String, i64)>;

#[derive(Debug, Clone)]
struct Column {
    name: String,
    kind: Kind,
    /// Refers to a row of its own table (a series continued by another):
    /// written after every row of the table is there.
    refers_to_own_table: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Int,
    Real,
    Text,
    Flag,
}

fn refused(why: String) -> Error {
    Error::Internal {
        context: "copying the store",
        source: why.into(),
    }
}

/// An error of the database, with what was being done and where.
fn failed(what: String) -> impl FnOnce(sqlx::Error) -> Error {
    move |e| refused(format!("{what}: {e}"))
}

/// Copies every row of `from` (SQLite) into `to` (an empty PostgreSQL
/// store at the same schema), then compares the tables' counts.
pub async fn copy(from: &Store, to: &Store) -> Result<Counts> {
    let (Pool::Sqlite(source), Backend::Postgres) = (&from.pool, to.backend()) else {
        return Err(refused("a copy goes from a SQLite store to a PostgreSQL one".into()));
    };
    if let Some(why) = from.schema().await?.refusal() {
        return Err(refused(format!("the SQLite store cannot be copied as it is: {why}")));
    }
    let tables = ordered_tables(to).await?;
    for (table, _) in &tables {
        let n: i64 = query_scalar(format!("SELECT COUNT(*) FROM \"{table}\""))
            .fetch_one(to)
            .await
            .context("counting the target's rows")?;
        if n > 0 {
            return Err(refused(format!(
                "the PostgreSQL database is not empty ({table} has {n} rows): copy into a new database; nothing was written"
            )));
        }
    }
    let mut tx = to.begin().await.context("starting the copy")?;
    for (table, columns) in &tables {
        copy_table(source, &mut tx, table, columns).await?;
    }
    tx.commit().await.context("committing the copy")?;
    let mut counts = Vec::new();
    for (table, _) in &tables {
        let sql = format!("SELECT COUNT(*) FROM \"{table}\"");
        let there: i64 = query_scalar(sql.clone())
            .fetch_one(from)
            .await
            .context("counting rows")?;
        let here: i64 = query_scalar(sql).fetch_one(to).await.context("counting rows")?;
        if there != here {
            return Err(refused(format!(
                "{table}: {there} rows in the SQLite store but {here} in PostgreSQL after the copy"
            )));
        }
        counts.push((table.clone(), here));
    }
    Ok(counts)
}

/// The target's tables, each after every table it refers to, with their
/// columns in order.
async fn ordered_tables(to: &Store) -> Result<Vec<(String, Vec<Column>)>> {
    let names: Vec<String> = query_scalar(
        "SELECT CAST(table_name AS TEXT) FROM information_schema.tables
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name",
    )
    .fetch_all(to)
    .await
    .context("listing the target's tables")?;
    let refs: Vec<(String, String, String)> = query_as(
        "SELECT CAST(c.relname AS TEXT), CAST(p.relname AS TEXT), CAST(a.attname AS TEXT)
         FROM pg_constraint k
         JOIN pg_class c ON c.oid = k.conrelid
         JOIN pg_class p ON p.oid = k.confrelid
         JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
         WHERE k.contype = 'f' AND c.relnamespace = to_regnamespace(current_schema())",
    )
    .fetch_all(to)
    .await
    .context("reading the target's references")?;
    let mut pending: Vec<String> = names
        .into_iter()
        .filter(|n| !NOT_COPIED.contains(&n.as_str()))
        .collect();
    let mut ordered: Vec<String> = Vec::new();
    while !pending.is_empty() {
        let ready: Vec<String> = pending
            .iter()
            .filter(|t| {
                refs.iter()
                    .filter(|(child, parent, _)| child == *t && parent != *t)
                    .all(|(_, parent, _)| ordered.contains(parent) || !pending.contains(parent))
            })
            .cloned()
            .collect();
        if ready.is_empty() {
            return Err(refused(format!("tables refer to each other in a circle: {pending:?}")));
        }
        pending.retain(|t| !ready.contains(t));
        ordered.extend(ready);
    }
    let mut out = Vec::new();
    for table in ordered {
        let columns: Vec<(String, String)> = query_as(
            "SELECT CAST(column_name AS TEXT), CAST(data_type AS TEXT) FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
        )
        .bind(&table)
        .fetch_all(to)
        .await
        .context("reading the target's columns")?;
        let columns = columns
            .into_iter()
            .map(|(name, data_type)| {
                let kind = match data_type.as_str() {
                    "bigint" | "integer" | "smallint" => Kind::Int,
                    "double precision" | "real" => Kind::Real,
                    "boolean" => Kind::Flag,
                    _ => Kind::Text,
                };
                let refers_to_own_table = refs
                    .iter()
                    .any(|(c, p, col)| c == &table && p == &table && col == &name);
                Column {
                    name,
                    kind,
                    refers_to_own_table,
                }
            })
            .collect();
        out.push((table, columns));
    }
    Ok(out)
}

async fn copy_table(source: &sqlx::SqlitePool, tx: &mut super::Tx, table: &str, columns: &[Column]) -> Result<()> {
    let list = columns
        .iter()
        .map(|c| format!("\"{}\"", c.name))
        .collect::<Vec<_>>()
        .join(", ");
    // Names come from the target's own schema, not from input.
    let select = format!("SELECT rowid, {list} FROM \"{table}\" WHERE rowid > ? ORDER BY rowid LIMIT ?");
    let mut after = 0i64;
    let mut later: Vec<(String, Value, Value)> = Vec::new();
    loop {
        let rows = sqlx::query(sqlx::AssertSqlSafe(select.clone()))
            .bind(after)
            .bind(BATCH)
            .fetch_all(source)
            .await
            .map_err(failed(format!("reading {table}")))?;
        let Some(last) = rows.last() else {
            break;
        };
        after = last.try_get(0).map_err(failed(format!("reading {table}")))?;
        let mut args: Vec<Value> = Vec::new();
        let mut values = Vec::new();
        for row in &rows {
            let mut one = Vec::new();
            for (i, column) in columns.iter().enumerate() {
                let value = read(row, i + 1, column.kind).map_err(failed(format!(
                    "reading {table}.{} (expected {:?})",
                    column.name, column.kind
                )))?;
                if column.refers_to_own_table && value != null(column.kind) {
                    let key = read(row, 1, Kind::Int).map_err(failed(format!("reading {table}'s key")))?;
                    later.push((column.name.clone(), value, key));
                    args.push(null(column.kind));
                } else {
                    args.push(value);
                }
                one.push("?");
            }
            values.push(format!("({})", one.join(", ")));
        }
        let sql = format!("INSERT INTO \"{table}\" ({list}) VALUES {}", values.join(", "));
        let insert = args.into_iter().fold(query(sql), super::Query::bind);
        insert
            .execute(&mut *tx)
            .await
            .map_err(failed(format!("writing {table}")))?;
    }
    let key = columns.first().map(|c| c.name.clone()).unwrap_or_default();
    for (column, value, id) in later {
        query(format!("UPDATE \"{table}\" SET \"{column}\" = ? WHERE \"{key}\" = ?"))
            .bind(value)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(failed(format!("writing {table}.{column}")))?;
    }
    if columns.iter().any(|c| c.name == "id") {
        // The identity goes on after the rows copied with their own ids.
        query(format!(
            "SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM \"{table}\""
        ))
        .execute(&mut *tx)
        .await
        .map_err(failed(format!("moving {table}'s ids on")))?;
    }
    Ok(())
}

fn null(kind: Kind) -> Value {
    match kind {
        Kind::Int => Value::Int(None),
        Kind::Real => Value::Real(None),
        Kind::Text => Value::Text(None),
        Kind::Flag => Value::Bool(None),
    }
}

fn read(row: &sqlx::sqlite::SqliteRow, i: usize, kind: Kind) -> std::result::Result<Value, sqlx::Error> {
    Ok(match kind {
        Kind::Int => Value::Int(row.try_get(i)?),
        Kind::Real => Value::Real(row.try_get(i)?),
        Kind::Text => Value::Text(row.try_get(i)?),
        Kind::Flag => Value::Bool(row.try_get(i)?),
    })
}
