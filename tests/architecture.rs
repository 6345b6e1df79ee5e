//! The floors of the house, read from the code's own imports: which of a
//! crate's top-level modules import each other in a circle, and which
//! features the jobs engine and the command spec still name. Both are
//! ratchets (issue 26): today's list is written down here, a new circle or a
//! new feature import fails, and so does a listed one that has gone, so the
//! list only ever shrinks.

#![expect(clippy::unwrap_used, reason = "a test harness should fail loudly")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Today's import circles, each a set of one crate's top-level modules.
/// Shrink this as issue 26 untangles them; never add to it.
const KNOWN_CIRCLES: &[(&str, &[&str])] = &[
    ("bot-core/src", &["groups", "meetings"]),
    ("adapters/matrix/src", &["bot", "handlers", "late_keys"]),
    ("adapters/matrix/src", &["check", "session"]),
];

/// The modules that make the bottom floors: the spec, errors, messages,
/// the store, the engine and the plumbing they stand on. Anything else a
/// bottom module imports is a feature.
const FLOORS: &[&str] = &[
    "clock",
    "error",
    "io",
    "jobs",
    "message",
    "metrics",
    "parse",
    "scheduler",
    "spec",
    "store",
    "timezone",
    "when",
];

/// The features the bottom floors still import today (the jobs engine and
/// the spec above all, issue 26's "Done when"). Same rule: shrink it, never
/// grow it.
const KNOWN_FEATURE_IMPORTS: &[(&str, &[&str])] = &[
    ("jobs", &[]),
    ("spec", &[]),
    ("error", &[]),
    ("message", &[]),
    ("store", &[]),
    ("parse", &[]),
    ("when", &[]),
];

/// The crates whose modules must not import each other in a circle.
const CRATES: &[&str] = &[
    "bot-core/src",
    "adapters/console/src",
    "adapters/discord/src",
    "adapters/matrix/src",
    "src",
];

#[test]
fn no_crate_has_an_import_circle_beyond_the_known_ones_and_the_known_ones_do_not_grow() {
    let mut found: Vec<(String, BTreeSet<String>)> = Vec::new();
    for krate in CRATES {
        let graph = imports(&Path::new(ROOT).join(krate));
        for circle in circles(&graph) {
            found.push((krate.to_string(), circle));
        }
    }

    let known: Vec<(String, BTreeSet<String>)> = KNOWN_CIRCLES
        .iter()
        .map(|(krate, modules)| (krate.to_string(), modules.iter().map(|m| m.to_string()).collect()))
        .collect();
    let new: Vec<_> = found
        .iter()
        .filter(|(krate, circle)| !known.iter().any(|(k, listed)| k == krate && circle.is_subset(listed)))
        .collect();
    let gone: Vec<_> = known
        .iter()
        .filter(|(krate, listed)| !found.iter().any(|(k, circle)| k == krate && circle == listed))
        .collect();

    assert!(
        new.is_empty(),
        "a new import circle, or a known one grown: {new:?}; make the dependency point down \
         (a lower module must not import a higher one)"
    );
    assert!(
        gone.is_empty(),
        "a known import circle has shrunk or gone: {gone:?}; well done, now write today's \
         circles into KNOWN_CIRCLES (found: {found:?})"
    );
}

#[test]
fn the_jobs_engine_the_spec_and_the_bottom_floors_import_no_feature_beyond_the_known_ones() {
    let graph = imports(&Path::new(ROOT).join("bot-core/src"));

    for (module, known) in KNOWN_FEATURE_IMPORTS {
        let features: BTreeSet<&str> = graph[*module]
            .iter()
            .map(String::as_str)
            .filter(|m| !FLOORS.contains(m))
            .collect();
        let known: BTreeSet<&str> = known.iter().copied().collect();

        assert_eq!(
            features, known,
            "`{module}` imports these features; a new one is a step back (register with the \
             engine instead), a gone one means KNOWN_FEATURE_IMPORTS can shrink"
        );
    }
}

#[test]
fn the_checker_sees_a_circle_through_a_use_group_and_a_super_path() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::write(
        src.join("lib.rs"),
        "mod a;\nmod b;\nmod c;\nmod d;\npub use d::Thing;\n",
    )
    .unwrap();
    std::fs::write(
        src.join("a.rs"),
        "use crate::{x::y, b::{self, Z}};\n// crate::d in a comment\n",
    )
    .unwrap();
    std::fs::create_dir(src.join("b")).unwrap();
    std::fs::write(src.join("b/mod.rs"), "mod inner;\n").unwrap();
    std::fs::write(src.join("b/inner.rs"), "use super::super::c::f;\n").unwrap();
    std::fs::write(
        src.join("c.rs"),
        "fn g() { crate::a::h() }\n#[cfg(test)]\nmod tests {\n    use crate::d::Q;\n}\n",
    )
    .unwrap();
    std::fs::write(src.join("d.rs"), "fn k() -> crate::Thing { todo() }\n").unwrap();

    let graph = imports(src);

    assert_eq!(
        circles(&graph),
        vec![BTreeSet::from(["a".into(), "b".into(), "c".into()])]
    );
}

/// Each top-level module of the crate at `src`, with the other top-level
/// modules its code (tests aside) refers to through `crate::` or `super::`.
fn imports(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let files = sources(src, &[]);
    let modules: BTreeSet<String> = files.iter().filter_map(|(path, _)| path.first().cloned()).collect();
    let reexports = reexports(src, &modules);

    let mut graph: BTreeMap<String, BTreeSet<String>> = modules.iter().map(|m| (m.clone(), BTreeSet::new())).collect();
    for (path, file) in &files {
        let Some(top) = path.first() else { continue };
        let text = without_tests_and_comments(&std::fs::read_to_string(file).unwrap());
        for target in references(&text, path) {
            let target = match target.first() {
                Some(first) if modules.contains(first) => first.clone(),
                Some(name) => match reexports.get(name) {
                    Some(module) => module.clone(),
                    None => continue,
                },
                None => continue,
            };
            if &target != top {
                graph.get_mut(top).unwrap().insert(target);
            }
        }
    }
    graph
}

/// Every source file under `dir` that is not test-only, with its module
/// path (`[]` for the crate root, `["circle", "db"]` for circle/db.rs).
fn sources(dir: &Path, path: &[String]) -> Vec<(Vec<String>, PathBuf)> {
    let own = if path.is_empty() {
        ["lib.rs", "main.rs"].iter().map(|f| dir.join(f)).find(|f| f.exists())
    } else {
        Some(dir.join("mod.rs")).filter(|f| f.exists())
    };
    let mut out = Vec::new();
    let Some(own) = own else { return out };
    out.extend(children(&own, dir, path));
    out.push((path.to_vec(), own));
    out
}

/// The files of the modules that `file` declares with `mod name;`, leaving
/// out those declared under `#[cfg(test)]`.
fn children(file: &Path, dir: &Path, path: &[String]) -> Vec<(Vec<String>, PathBuf)> {
    let text = std::fs::read_to_string(file).unwrap();
    let mut out = Vec::new();
    let mut test_only = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with("#[cfg(test)]") {
            test_only = true;
            continue;
        }
        let declared = line
            .strip_prefix("pub ")
            .or_else(|| line.strip_prefix("pub(crate) "))
            .unwrap_or(line)
            .strip_prefix("mod ")
            .and_then(|rest| rest.strip_suffix(';'));
        if let Some(name) = declared
            && !test_only
        {
            let mut child = path.to_vec();
            child.push(name.to_string());
            let flat = dir.join(format!("{name}.rs"));
            if flat.exists() {
                out.extend(children(&flat, &dir.join(name), &child));
                out.push((child, flat));
            } else {
                out.extend(sources(&dir.join(name), &child));
            }
        }
        if !line.starts_with("#[") {
            test_only = false;
        }
    }
    out
}

/// Names the crate root re-exports (`pub use x::{A, B}`), each with the
/// top-level module it comes from, so `crate::A` counts as an import of `x`.
fn reexports(src: &Path, modules: &BTreeSet<String>) -> BTreeMap<String, String> {
    let root = ["lib.rs", "main.rs"]
        .iter()
        .map(|f| src.join(f))
        .find(|f| f.exists())
        .unwrap();
    let text = without_tests_and_comments(&std::fs::read_to_string(root).unwrap());
    let mut out = BTreeMap::new();
    for statement in text.split(';') {
        let Some(tree) = statement.trim().strip_prefix("pub use ") else {
            continue;
        };
        for path in use_tree(tree) {
            if let (Some(first), Some(last)) = (path.first(), path.last())
                && modules.contains(first)
            {
                out.insert(last.clone(), first.clone());
            }
        }
    }
    out
}

/// The crate-absolute paths `text` (the file of module `here`) refers to.
fn references(text: &str, here: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < text.len() {
        let rest = &text[at..];
        let starts_word =
            at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_' || bytes[at - 1] == b':');
        let (base, len) = if starts_word && rest.starts_with("crate::") {
            (Vec::new(), "crate::".len())
        } else if starts_word && rest.starts_with("super::") {
            let mut base = here.to_vec();
            let mut len = 0;
            while text[at + len..].starts_with("super::") {
                base.pop();
                len += "super::".len();
            }
            (base, len)
        } else {
            at += rest.chars().next().map_or(1, char::len_utf8);
            continue;
        };
        let tail = &text[at + len..];
        let end = tree_end(tail);
        for path in use_tree(&tail[..end]) {
            let mut full = base.clone();
            full.extend(path);
            out.push(full);
        }
        at += len + end.max(1);
    }
    out
}

/// Where the path or `{…}` group at the start of `text` ends.
fn tree_end(text: &str) -> usize {
    let mut depth = 0;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 1 => return i + 1,
            '}' => depth -= 1,
            c if depth == 0 && !(c.is_alphanumeric() || c == '_' || c == ':') => return i,
            _ => {}
        }
    }
    text.len()
}

/// The paths a use tree names: `a::{b, c::{d, self}}` is `a::b`, `a::c::d`, `a::c`.
fn use_tree(tree: &str) -> Vec<Vec<String>> {
    let tree = tree.trim();
    let (prefix, group) = match tree.find('{') {
        Some(open) => (
            &tree[..open],
            Some(&tree[open + 1..tree.rfind('}').unwrap_or(tree.len())]),
        ),
        None => (tree, None),
    };
    let prefix: Vec<String> = prefix
        .split("::")
        .map(|s| s.split(" as ").next().unwrap_or("").trim())
        .filter(|s| !s.is_empty() && *s != "self" && *s != "*")
        .map(String::from)
        .collect();
    let Some(group) = group else { return vec![prefix] };
    let mut out = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in group.char_indices().chain([(group.len(), ',')]) {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                for tail in use_tree(&group[start..i]) {
                    let mut path = prefix.clone();
                    path.extend(tail);
                    out.push(path);
                }
                start = i + 1;
            }
            _ => {}
        }
    }
    out
}

/// The text with `//` comments and `#[cfg(test)]` items (a `mod tests {…}`
/// or a test-only function) cut out.
fn without_tests_and_comments(text: &str) -> String {
    let code: String = text
        .lines()
        .map(|line| match line.find("//") {
            Some(i) if !line[..i].contains('"') => &line[..i],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = String::new();
    let mut rest = code.as_str();
    while let Some(start) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let item_end = after.find([';', '{']).unwrap_or(after.len());
        if after[item_end..].starts_with(';') {
            rest = &after[item_end + 1..];
            continue;
        }
        let mut depth = 0;
        let mut end = after.len();
        for (i, c) in after[item_end..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = item_end + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// The import circles of a graph: its strongly connected components of more
/// than one module (Tarjan's algorithm).
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    struct Walk<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<BTreeSet<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, node: &'a str) {
            let n = self.index.len();
            self.index.insert(node, n);
            self.low.insert(node, n);
            self.stack.push(node);
            self.on_stack.insert(node);
            for next in self.graph.get(node).into_iter().flatten() {
                let next = next.as_str();
                if !self.graph.contains_key(next) {
                    continue;
                }
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[node].min(self.low[next]);
                    self.low.insert(node, low);
                } else if self.on_stack.contains(next) {
                    let low = self.low[node].min(self.index[next]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut component = BTreeSet::new();
                while let Some(top) = self.stack.pop() {
                    self.on_stack.remove(top);
                    component.insert(top.to_string());
                    if top == node {
                        break;
                    }
                }
                if component.len() > 1 {
                    self.out.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for node in graph.keys() {
        if !walk.index.contains_key(node.as_str()) {
            walk.visit(node);
        }
    }
    walk.out
}

#[test]
fn every_file_and_module_path_docs_architecture_names_exists() {
    let page = std::fs::read_to_string(Path::new(ROOT).join("docs/ARCHITECTURE.md")).unwrap();
    let core = Path::new(ROOT).join("bot-core/src");
    let mut missing = Vec::new();
    let mut checked = 0;

    let fences: Vec<&str> = page.split("```").collect();
    for fence in fences.iter().skip(1).step_by(2) {
        for word in fence.split_whitespace() {
            if ["bot-core/", "adapters/", "src/"]
                .iter()
                .any(|root| word.starts_with(root))
            {
                checked += 1;
                if !Path::new(ROOT).join(word).exists() {
                    missing.push(word.to_string());
                }
            }
        }
    }
    let prose: String = fences.iter().step_by(2).copied().collect();
    for quoted in prose.split('`').skip(1).step_by(2) {
        if (quoted.contains('/') && !quoted.starts_with('/')) || quoted.ends_with(".rs") {
            checked += 1;
            if !Path::new(ROOT).join(quoted).exists() {
                missing.push(quoted.to_string());
            }
        }
        for path in module_paths(quoted) {
            checked += 1;
            if !names_exist(&core, &path) {
                missing.push(path.join("::"));
            }
        }
    }

    assert!(
        checked > 20,
        "the page names only {checked} paths: is the check still reading it?"
    );
    assert!(
        missing.is_empty(),
        "docs/ARCHITECTURE.md names what does not exist: {missing:?}"
    );
}

/// The `a::b::c` paths in a piece of text, each as its segments.
fn module_paths(text: &str) -> Vec<Vec<String>> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .filter(|chain| chain.contains("::"))
        .map(|chain| chain.split("::").map(String::from).collect())
        .collect()
}

/// Whether `path`'s first segment is a module of the core and each later
/// segment is declared in it (a function, a type, a constant or a variant).
fn names_exist(core: &Path, path: &[String]) -> bool {
    let Some((module, items)) = path.split_first() else {
        return false;
    };
    let files = [core.join(format!("{module}.rs")), core.join(module).join("mod.rs")];
    let Some(text) = files.iter().find_map(|f| std::fs::read_to_string(f).ok()) else {
        return false;
    };
    let mut dir_text = text.clone();
    if let Ok(entries) = std::fs::read_dir(core.join(module)) {
        for entry in entries.flatten() {
            dir_text.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
        }
    }
    items.iter().all(|item| {
        ["fn ", "struct ", "enum ", "const ", "type ", "trait ", "mod "]
            .iter()
            .any(|kind| dir_text.contains(&format!("{kind}{item}")))
            || dir_text
                .lines()
                .any(|line| line.trim_start().starts_with(&format!("{item}(")) || line.trim() == format!("{item},"))
    })
}
