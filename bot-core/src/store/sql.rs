//! One way to ask either database: a query written once, with `?`
//! placeholders, run on SQLite as written and on PostgreSQL with its
//! placeholders numbered (`$1`, `$2`, …). Rows and scalars decode through
//! each driver's own types (`FromRow` for both row kinds), so nothing goes
//! through `sqlx::Any` and no type is lost on the way.
//!
//! Where the dialects differ (a scalar `MIN(a, b)`, `json_each`), a query
//! gives PostgreSQL its own text with [`Query::on_postgres`]; everything
//! else is written in the SQL both understand.

use std::borrow::Cow;
use std::marker::PhantomData;

use sqlx::pool::PoolConnection;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Arguments, AssertSqlSafe, PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool};

/// Which database a store is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A value bound to a placeholder. Each is bound with its own type on each
/// driver; `None` is a typed NULL.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(Option<i64>),
    Real(Option<f64>),
    Text(Option<String>),
    Bool(Option<bool>),
}

macro_rules! value_from {
    ($variant:ident: $($t:ty => $conv:expr),* $(,)?) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                #[allow(clippy::redundant_closure_call)]
                Value::$variant(Some(($conv)(v)))
            }
        }
        impl From<Option<$t>> for Value {
            fn from(v: Option<$t>) -> Self {
                #[allow(clippy::redundant_closure_call)]
                Value::$variant(v.map($conv))
            }
        }
    )*};
}

value_from!(Int: i64 => |v| v, i32 => i64::from, u32 => i64::from, u16 => i64::from, u8 => i64::from);
value_from!(Real: f64 => |v| v);
value_from!(Bool: bool => |v| v);
value_from!(Text: String => |v| v, &str => str::to_owned, &String => String::clone);

impl From<&Option<String>> for Value {
    fn from(v: &Option<String>) -> Self {
        Value::Text(v.clone())
    }
}

/// A row either driver can decode: a tuple of plain types, or a struct
/// deriving `sqlx::FromRow`.
pub trait Row: for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin {}
impl<T> Row for T where T: for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin {}

/// Where a query runs: a store's pool, or one connection (a transaction's).
/// Anything that gives one converts into it, so a function takes
/// `db: impl Into<Db<'_>>` and its callers pass `store`, `&mut tx`,
/// `&mut conn` or their own `&mut db` (or, holding a `&mut Tx`, `&mut *tx`).
pub enum Db<'a> {
    SqlitePool(&'a SqlitePool),
    Sqlite(&'a mut SqliteConnection),
    PostgresPool(&'a PgPool),
    Postgres(&'a mut PgConnection),
}

impl Db<'_> {
    pub fn backend(&self) -> Backend {
        match self {
            Db::SqlitePool(_) | Db::Sqlite(_) => Backend::Sqlite,
            Db::PostgresPool(_) | Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// The same place again, for one more query.
    pub fn re(&mut self) -> Db<'_> {
        match self {
            Db::SqlitePool(p) => Db::SqlitePool(p),
            Db::Sqlite(c) => Db::Sqlite(c),
            Db::PostgresPool(p) => Db::PostgresPool(p),
            Db::Postgres(c) => Db::Postgres(c),
        }
    }
}

impl<'a, 'b: 'a> From<&'a mut Db<'b>> for Db<'a> {
    fn from(db: &'a mut Db<'b>) -> Self {
        db.re()
    }
}

impl<'a, 'b: 'a, 'c: 'b> From<&'a mut &'b mut Db<'c>> for Db<'a> {
    fn from(db: &'a mut &'b mut Db<'c>) -> Self {
        db.re()
    }
}

impl<'a> From<&'a SqlitePool> for Db<'a> {
    fn from(p: &'a SqlitePool) -> Self {
        Db::SqlitePool(p)
    }
}

impl<'a> From<&'a mut SqliteConnection> for Db<'a> {
    fn from(c: &'a mut SqliteConnection) -> Self {
        Db::Sqlite(c)
    }
}

impl<'a> From<&'a PgPool> for Db<'a> {
    fn from(p: &'a PgPool) -> Self {
        Db::PostgresPool(p)
    }
}

impl<'a> From<&'a mut PgConnection> for Db<'a> {
    fn from(c: &'a mut PgConnection) -> Self {
        Db::Postgres(c)
    }
}

/// A transaction on either database ([`super::Store::begin`],
/// [`super::Store::write`]). Dropped without a commit, it rolls back.
#[derive(Debug)]
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::Postgres(tx) => tx.commit().await,
        }
    }

    /// The transaction's connection, for one more query.
    pub fn db(&mut self) -> Db<'_> {
        match self {
            Tx::Sqlite(tx) => Db::Sqlite(tx),
            Tx::Postgres(tx) => Db::Postgres(tx),
        }
    }
}

impl<'a> From<&'a mut Tx> for Db<'a> {
    fn from(tx: &'a mut Tx) -> Self {
        tx.db()
    }
}

impl<'a, 'b: 'a> From<&'a mut &'b mut Tx> for Db<'a> {
    fn from(tx: &'a mut &'b mut Tx) -> Self {
        tx.db()
    }
}

/// One connection taken from a store's pool ([`super::Store::acquire`]).
#[derive(Debug)]
pub enum Conn {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

impl<'a> From<&'a mut Conn> for Db<'a> {
    fn from(conn: &'a mut Conn) -> Self {
        match conn {
            Conn::Sqlite(c) => Db::Sqlite(c),
            Conn::Postgres(c) => Db::Postgres(c),
        }
    }
}

/// What a statement changed.
#[derive(Debug, Clone, Copy)]
pub struct Done {
    rows: u64,
}

impl Done {
    pub fn rows_affected(&self) -> u64 {
        self.rows
    }
}

/// A statement and its bound values ([`query`]).
#[derive(Debug, Clone)]
#[must_use = "a query does nothing until it is run"]
pub struct Query {
    sql: Cow<'static, str>,
    postgres: Option<Cow<'static, str>>,
    args: Vec<Value>,
}

/// A statement whose rows decode as `O` ([`query_as`]).
#[must_use = "a query does nothing until it is run"]
pub struct QueryAs<O> {
    query: Query,
    row: PhantomData<fn() -> O>,
}

/// A statement whose first column decodes as `O` ([`query_scalar`]).
#[must_use = "a query does nothing until it is run"]
pub struct QueryScalar<O> {
    query: Query,
    value: PhantomData<fn() -> O>,
}

/// A statement, written with `?` placeholders.
pub fn query(sql: impl Into<Cow<'static, str>>) -> Query {
    Query {
        sql: sql.into(),
        postgres: None,
        args: Vec::new(),
    }
}

/// A statement whose rows decode as `O`.
pub fn query_as<O: Row>(sql: impl Into<Cow<'static, str>>) -> QueryAs<O> {
    QueryAs {
        query: query(sql),
        row: PhantomData,
    }
}

/// A statement whose first column decodes as `O`.
pub fn query_scalar<O>(sql: impl Into<Cow<'static, str>>) -> QueryScalar<O>
where
    (O,): Row,
{
    QueryScalar {
        query: query(sql),
        value: PhantomData,
    }
}

/// The statement with PostgreSQL's numbered placeholders: each `?` outside
/// a quoted string or identifier becomes `$1`, `$2`, …, in order; a `?NNN`
/// keeps its number (`?1` used twice is `$1` twice).
pub fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut next = 0usize;
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                out.push(c);
                if c == q {
                    quote = None;
                }
            }
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                out.push(c);
            }
            None if c == '?' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    digits.push(d);
                    chars.next();
                }
                out.push('$');
                if digits.is_empty() {
                    next += 1;
                    out.push_str(&next.to_string());
                } else {
                    out.push_str(&digits);
                }
            }
            None => out.push(c),
        }
    }
    out
}

/// The values, bound in order for one driver.
fn arguments<DB: sqlx::Database>(args: Vec<Value>) -> Result<<DB as sqlx::Database>::Arguments, sqlx::Error>
where
    Option<i64>: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<f64>: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<String>: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<bool>: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut out = <DB as sqlx::Database>::Arguments::default();
    for v in args {
        match v {
            Value::Int(v) => out.add(v),
            Value::Real(v) => out.add(v),
            Value::Text(v) => out.add(v),
            Value::Bool(v) => out.add(v),
        }
        .map_err(sqlx::Error::Encode)?;
    }
    Ok(out)
}

impl Query {
    /// Binds the next placeholder.
    pub fn bind(mut self, value: impl Into<Value>) -> Self {
        self.args.push(value.into());
        self
    }

    /// The text PostgreSQL runs instead (still with `?` placeholders, in
    /// the same order), where the dialects differ.
    pub fn on_postgres(mut self, sql: impl Into<Cow<'static, str>>) -> Self {
        self.postgres = Some(sql.into());
        self
    }

    fn postgres_text(&self) -> String {
        numbered(self.postgres.as_deref().unwrap_or(&self.sql))
    }

    pub async fn execute<'d>(self, db: impl Into<Db<'d>>) -> Result<Done, sqlx::Error> {
        let rows = match db.into() {
            Db::SqlitePool(p) => self.sqlite()?.execute(p).await?.rows_affected(),
            Db::Sqlite(c) => self.sqlite()?.execute(c).await?.rows_affected(),
            Db::PostgresPool(p) => self.postgres()?.execute(p).await?.rows_affected(),
            Db::Postgres(c) => self.postgres()?.execute(c).await?.rows_affected(),
        };
        Ok(Done { rows })
    }

    fn sqlite(self) -> Result<sqlx::query::Query<'static, Sqlite, sqlx::sqlite::SqliteArguments>, sqlx::Error> {
        Ok(sqlx::query_with(
            AssertSqlSafe(self.sql),
            arguments::<Sqlite>(self.args)?,
        ))
    }

    fn postgres(self) -> Result<sqlx::query::Query<'static, Postgres, sqlx::postgres::PgArguments>, sqlx::Error> {
        let text = self.postgres_text();
        Ok(sqlx::query_with(AssertSqlSafe(text), arguments::<Postgres>(self.args)?))
    }

    fn sqlite_as<O: Row>(
        self,
    ) -> Result<sqlx::query::QueryAs<'static, Sqlite, O, sqlx::sqlite::SqliteArguments>, sqlx::Error> {
        Ok(sqlx::query_as_with(
            AssertSqlSafe(self.sql),
            arguments::<Sqlite>(self.args)?,
        ))
    }

    fn postgres_as<O: Row>(
        self,
    ) -> Result<sqlx::query::QueryAs<'static, Postgres, O, sqlx::postgres::PgArguments>, sqlx::Error> {
        let text = self.postgres_text();
        Ok(sqlx::query_as_with(
            AssertSqlSafe(text),
            arguments::<Postgres>(self.args)?,
        ))
    }

    async fn all<'d, O: Row>(self, db: Db<'d>) -> Result<Vec<O>, sqlx::Error> {
        match db {
            Db::SqlitePool(p) => self.sqlite_as()?.fetch_all(p).await,
            Db::Sqlite(c) => self.sqlite_as()?.fetch_all(c).await,
            Db::PostgresPool(p) => self.postgres_as()?.fetch_all(p).await,
            Db::Postgres(c) => self.postgres_as()?.fetch_all(c).await,
        }
    }

    async fn optional<'d, O: Row>(self, db: Db<'d>) -> Result<Option<O>, sqlx::Error> {
        match db {
            Db::SqlitePool(p) => self.sqlite_as()?.fetch_optional(p).await,
            Db::Sqlite(c) => self.sqlite_as()?.fetch_optional(c).await,
            Db::PostgresPool(p) => self.postgres_as()?.fetch_optional(p).await,
            Db::Postgres(c) => self.postgres_as()?.fetch_optional(c).await,
        }
    }
}

impl<O: Row> QueryAs<O> {
    /// Binds the next placeholder.
    pub fn bind(self, value: impl Into<Value>) -> Self {
        Self {
            query: self.query.bind(value),
            row: PhantomData,
        }
    }

    /// The text PostgreSQL runs instead ([`Query::on_postgres`]).
    pub fn on_postgres(self, sql: impl Into<Cow<'static, str>>) -> Self {
        Self {
            query: self.query.on_postgres(sql),
            row: PhantomData,
        }
    }

    pub async fn fetch_all<'d>(self, db: impl Into<Db<'d>>) -> Result<Vec<O>, sqlx::Error> {
        self.query.all(db.into()).await
    }

    pub async fn fetch_optional<'d>(self, db: impl Into<Db<'d>>) -> Result<Option<O>, sqlx::Error> {
        self.query.optional(db.into()).await
    }

    pub async fn fetch_one<'d>(self, db: impl Into<Db<'d>>) -> Result<O, sqlx::Error> {
        self.query.optional(db.into()).await?.ok_or(sqlx::Error::RowNotFound)
    }
}

impl<O> QueryScalar<O>
where
    (O,): Row,
{
    /// Binds the next placeholder.
    pub fn bind(self, value: impl Into<Value>) -> Self {
        Self {
            query: self.query.bind(value),
            value: PhantomData,
        }
    }

    /// The text PostgreSQL runs instead ([`Query::on_postgres`]).
    pub fn on_postgres(self, sql: impl Into<Cow<'static, str>>) -> Self {
        Self {
            query: self.query.on_postgres(sql),
            value: PhantomData,
        }
    }

    pub async fn fetch_all<'d>(self, db: impl Into<Db<'d>>) -> Result<Vec<O>, sqlx::Error> {
        let rows: Vec<(O,)> = self.query.all(db.into()).await?;
        Ok(rows.into_iter().map(|(v,)| v).collect())
    }

    pub async fn fetch_optional<'d>(self, db: impl Into<Db<'d>>) -> Result<Option<O>, sqlx::Error> {
        let row: Option<(O,)> = self.query.optional(db.into()).await?;
        Ok(row.map(|(v,)| v))
    }

    pub async fn fetch_one<'d>(self, db: impl Into<Db<'d>>) -> Result<O, sqlx::Error> {
        self.fetch_optional(db).await?.ok_or(sqlx::Error::RowNotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::numbered;

    #[test]
    fn placeholders_are_numbered_outside_quotes_and_keep_their_own_numbers() {
        assert_eq!(numbered("SELECT ? , ?"), "SELECT $1 , $2");
        assert_eq!(
            numbered("WHERE a = ?1 OR b = ?1 AND c = ?2"),
            "WHERE a = $1 OR b = $1 AND c = $2"
        );
        assert_eq!(numbered("SELECT '?' , \"a?\", ?"), "SELECT '?' , \"a?\", $1");
        assert_eq!(numbered("x LIKE 'e:%' AND y = ?"), "x LIKE 'e:%' AND y = $1");
    }
}
