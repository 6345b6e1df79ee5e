//! The floors of the house, read from the code's own imports: which of a
//! crate's top-level modules import each other in a circle (a ratchet, issue
//! 26: today's list is written down here, a new circle fails, and so does a
//! listed one that has gone, so the list only ever shrinks), and that the
//! bottom floors (the jobs engine, the command spec, errors, messages, the
//! store and their plumbing) import no feature.

#![expect(clippy::unwrap_used, reason = "a test harness should fail loudly")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Today's import circles, each a set of one crate's top-level modules:
/// none since issue 26. Never add to it: make the dependency point down.
const KNOWN_CIRCLES: &[(&str, &[&str])] = &[];

/// The modules that make the bottom floors: the spec, errors, messages,
/// the store, the engine and the plumbing they stand on. Anything else a
/// bottom module imports is a feature (or a floor above, like the Hearth).
const FLOORS: &[&str] = &[
    "clock", "error", "io", "jobs", "leases", "message", "metrics", "parse", "spec", "store", "timezone", "when",
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
fn the_jobs_engine_the_spec_and_the_bottom_floors_import_no_feature() {
    let graph = imports(&Path::new(ROOT).join("bot-core/src"));

    for module in FLOORS {
        let features: BTreeSet<&str> = graph[*module]
            .iter()
            .map(String::as_str)
            .filter(|m| !FLOORS.contains(m))
            .collect();

        assert!(
            features.is_empty(),
            "`{module}` imports these features: {features:?}; dependencies point down (a feature \
             registers its job kinds with the engine, and a command's constants live in the spec)"
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

/// Functions of more than this many lines (from the `fn` line to its closing
/// brace), tests aside, are too long to read at once (issue 26).
const MAX_FUNCTION_LINES: usize = 80;

/// Source files of the core longer than this (tests aside) want splitting.
const MAX_CORE_FILE_LINES: usize = 800;

/// Today's long functions, each as its file and name: none since issue 26.
/// A ratchet like the lists above: never add to it; split the function.
const KNOWN_LONG_FUNCTIONS: &[(&str, &str)] = &[];

/// Today's core files over [`MAX_CORE_FILE_LINES`], tests aside: none. Same rule.
const KNOWN_LONG_FILES: &[&str] = &[];

/// Where the production code lives: the core, each adapter, the binary.
fn production_dirs(root: &Path) -> Vec<PathBuf> {
    let mut dirs = vec![root.join("bot-core/src")];
    if let Ok(entries) = std::fs::read_dir(root.join("adapters")) {
        let mut adapters: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path().join("src"))
            .filter(|p| p.is_dir())
            .collect();
        adapters.sort();
        dirs.extend(adapters);
    }
    dirs.push(root.join("src"));
    dirs
}

#[test]
fn no_function_is_over_80_lines_and_no_core_file_over_800_beyond_the_known_ones() {
    let root = Path::new(ROOT);
    let long: BTreeSet<(String, String)> = long_functions(root)
        .into_iter()
        .map(|(file, name, _)| (file, name))
        .collect();
    let known: BTreeSet<(String, String)> = KNOWN_LONG_FUNCTIONS
        .iter()
        .map(|(file, name)| (file.to_string(), name.to_string()))
        .collect();
    let new: Vec<_> = long_functions(root)
        .into_iter()
        .filter(|(file, name, _)| !known.contains(&(file.clone(), name.clone())))
        .collect();
    let gone: Vec<_> = known.difference(&long).collect();
    assert!(
        new.is_empty(),
        "functions over {MAX_FUNCTION_LINES} lines (file, name, lines): {new:?}; split them into \
         well-named steps"
    );
    assert!(
        gone.is_empty(),
        "listed long functions are short now (or gone): {gone:?}; strike them from \
         KNOWN_LONG_FUNCTIONS"
    );
    let adapters_or_binary: Vec<_> = KNOWN_LONG_FUNCTIONS
        .iter()
        .filter(|(file, _)| !file.starts_with("bot-core/"))
        .collect();
    assert!(
        adapters_or_binary.is_empty(),
        "the adapters and the binary have no long function left; keep it so: {adapters_or_binary:?}"
    );

    let long_files: BTreeSet<String> = long_core_files(root).into_iter().map(|(file, _)| file).collect();
    let known_files: BTreeSet<String> = KNOWN_LONG_FILES.iter().map(|f| f.to_string()).collect();
    let new_files: Vec<_> = long_core_files(root)
        .into_iter()
        .filter(|(file, _)| !known_files.contains(file))
        .collect();
    let gone_files: Vec<_> = known_files.difference(&long_files).collect();
    assert!(
        new_files.is_empty(),
        "core files over {MAX_CORE_FILE_LINES} lines, tests aside (file, lines): {new_files:?}; \
         split them by concern"
    );
    assert!(
        gone_files.is_empty(),
        "listed long files are short now (or gone): {gone_files:?}; strike them from KNOWN_LONG_FILES"
    );
}

#[test]
fn the_length_checker_counts_bodies_not_strings_comments_or_tests() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let body = |lines: usize| "    let x = 1;\n".repeat(lines);
    std::fs::create_dir_all(root.join("bot-core/src/tests")).unwrap();
    std::fs::create_dir_all(root.join("adapters/chat/src")).unwrap();
    std::fs::create_dir_all(root.join("src")).unwrap();
    // 1 + 79 + 1 = 81 lines, with braces in a string, a char, a raw string
    // and comments that must not end it early (or late).
    let tricky = format!(
        "/// A doc comment with a {{ brace.\nfn tricky() {{\n    let s = \"}}\\\"}}\";\n    let c = '}}';\n    \
         let r = r#\"}} \" }}\"#;\n    // }}\n    /* }} /* nested }} */ }} */\n    let l: &'static str = s;\n{}}}\n",
        body(79 - 6)
    );
    std::fs::write(
        root.join("bot-core/src/lib.rs"),
        format!(
            "{tricky}\nfn just_right() {{\n{}}}\n\ntrait T {{\n    fn declared(&self);\n    fn pointer(f: fn(u8) -> u8, a: [u8; 2]) {{}}\n}}\n\
             #[cfg(test)]\nmod tests {{\n    fn long_test() {{\n{}    }}\n}}\n",
            body(78),
            body(100)
        ),
    )
    .unwrap();
    std::fs::write(
        root.join("adapters/chat/src/lib.rs"),
        format!(
            "impl X {{\n    pub(crate) async fn outer() {{\n        fn inner() {{\n{}        }}\n    }}\n}}\n",
            body(90)
        ),
    )
    .unwrap();
    // Test files are not read.
    for file in [
        "bot-core/src/tests/a.rs",
        "bot-core/src/tests.rs",
        "src/x_props.rs",
        "src/scenarios.rs",
    ] {
        std::fs::write(root.join(file), format!("fn long() {{\n{}}}\n", body(100))).unwrap();
    }
    // A long core file, counted without its tests.
    std::fs::write(
        root.join("bot-core/src/big.rs"),
        format!(
            "const A: u8 = 1;\n{}#[cfg(test)]\nmod tests {{\n{}}}\n",
            "// a line\n".repeat(800),
            body(50)
        ),
    )
    .unwrap();
    std::fs::write(
        root.join("bot-core/src/fits.rs"),
        format!(
            "{}#[cfg(test)]\nmod tests {{\n{}}}\n",
            "// a line\n".repeat(790),
            body(50)
        ),
    )
    .unwrap();

    assert_eq!(
        long_functions(root),
        vec![
            ("adapters/chat/src/lib.rs".to_string(), "inner".to_string(), 92),
            ("adapters/chat/src/lib.rs".to_string(), "outer".to_string(), 94),
            ("bot-core/src/lib.rs".to_string(), "tricky".to_string(), 81),
        ]
    );
    assert_eq!(long_core_files(root), vec![("bot-core/src/big.rs".to_string(), 801)]);
}

/// Every production function over [`MAX_FUNCTION_LINES`] under `root`:
/// its file (relative to `root`), its name and its length in lines.
fn long_functions(root: &Path) -> Vec<(String, String, usize)> {
    let mut out = Vec::new();
    for dir in production_dirs(root) {
        for file in production_files(&dir) {
            let code = without_test_items(&blank_strings_and_comments(&std::fs::read_to_string(&file).unwrap()));
            let relative = relative(root, &file);
            for (name, lines) in function_lengths(&code) {
                if lines > MAX_FUNCTION_LINES {
                    out.push((relative.clone(), name, lines));
                }
            }
        }
    }
    out.sort();
    out
}

/// The core's files over [`MAX_CORE_FILE_LINES`], counted without their
/// `#[cfg(test)]` items, each with that count.
fn long_core_files(root: &Path) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for file in production_files(&root.join("bot-core/src")) {
        let text = std::fs::read_to_string(&file).unwrap();
        let lines = text.lines().count() - test_item_lines(&blank_strings_and_comments(&text));
        if lines > MAX_CORE_FILE_LINES {
            out.push((relative(root, &file), lines));
        }
    }
    out.sort();
    out
}

/// `file`'s path under `root`, with forward slashes.
fn relative(root: &Path, file: &Path) -> String {
    let path = file.strip_prefix(root).unwrap_or(file);
    path.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// The `.rs` files under `dir`, test files left out: anything in a `tests`
/// directory, and files named `tests.rs`, `scenarios.rs` or `*_props.rs`.
fn production_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "tests" {
                out.extend(production_files(&path));
            }
        } else if name.ends_with(".rs") && name != "tests.rs" && name != "scenarios.rs" && !name.ends_with("_props.rs")
        {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The text with every comment, string and character literal turned into
/// spaces (line breaks kept), so that only code's braces remain.
fn blank_strings_and_comments(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |out: &mut String, cs: &[char]| {
        for c in cs {
            out.push(if *c == '\n' { '\n' } else { ' ' });
        }
    };
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let after_ident = i > 0 && ident(chars[i - 1]);
        let end = if c == '/' && next == Some('/') {
            let mut j = i;
            while j < chars.len() && chars[j] != '\n' {
                j += 1;
            }
            j
        } else if c == '/' && next == Some('*') {
            let (mut j, mut depth) = (i + 2, 1);
            while j < chars.len() && depth > 0 {
                if chars[j] == '/' && chars.get(j + 1) == Some(&'*') {
                    depth += 1;
                    j += 2;
                } else if chars[j] == '*' && chars.get(j + 1) == Some(&'/') {
                    depth -= 1;
                    j += 2;
                } else {
                    j += 1;
                }
            }
            j
        } else if !after_ident && (c == 'r' || (c == 'b' && next == Some('r'))) && {
            let mut j = i + if c == 'b' { 2 } else { 1 };
            while chars.get(j) == Some(&'#') {
                j += 1;
            }
            chars.get(j) == Some(&'"')
        } {
            let mut j = i + if c == 'b' { 2 } else { 1 };
            let mut hashes = 0;
            while chars[j] == '#' {
                hashes += 1;
                j += 1;
            }
            j += 1;
            loop {
                if j >= chars.len() {
                    break j;
                }
                if chars[j] == '"' && (1..=hashes).all(|h| chars.get(j + h) == Some(&'#')) {
                    break j + 1 + hashes;
                }
                j += 1;
            }
        } else if c == '"' {
            let mut j = i + 1;
            while j < chars.len() && chars[j] != '"' {
                j += if chars[j] == '\\' { 2 } else { 1 };
            }
            j + 1
        } else if c == '\'' && next == Some('\\') {
            let mut j = i + 3;
            while j < chars.len() && chars[j] != '\'' {
                j += 1;
            }
            j + 1
        } else if c == '\'' && chars.get(i + 2) == Some(&'\'') {
            i + 3
        } else {
            out.push(c);
            i += 1;
            continue;
        };
        let end = end.min(chars.len());
        blank(&mut out, &chars[i..end]);
        i = end;
    }
    out
}

/// Where the item starting at `start` of `code` (blanked) ends: after its
/// `;`, or after the `}` matching its first `{`.
fn item_end(code: &str, start: usize) -> usize {
    let (mut depth, mut nesting) = (0_usize, 0_usize);
    for (i, c) in code[start..].char_indices() {
        match c {
            '(' | '[' => nesting += 1,
            ')' | ']' => nesting = nesting.saturating_sub(1),
            ';' if depth == 0 && nesting == 0 => return start + i + 1,
            '{' => depth += 1,
            '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return start + i + 1;
                }
            }
            _ => {}
        }
    }
    code.len()
}

/// The blanked code with its `#[cfg(test)]` items blanked too.
fn without_test_items(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(start) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let end = item_end(after, "#[cfg(test)]".len());
        out.extend(after[..end].chars().map(|c| if c == '\n' { '\n' } else { ' ' }));
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// How many lines the `#[cfg(test)]` items of the blanked code span.
fn test_item_lines(code: &str) -> usize {
    let mut lines = 0;
    let mut rest = code;
    while let Some(start) = rest.find("#[cfg(test)]") {
        let after = &rest[start..];
        let end = item_end(after, "#[cfg(test)]".len());
        lines += after[..end].matches('\n').count() + 1;
        rest = &after[end..];
    }
    lines
}

/// Each function with a body in the blanked code: its name and its length
/// in lines, from the `fn` line to the line of its closing brace.
fn function_lengths(code: &str) -> Vec<(String, usize)> {
    let bytes = code.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(found) = code[at..].find("fn ") {
        let start = at + found;
        at = start + 3;
        if start > 0 && word(bytes[start - 1]) {
            continue;
        }
        let name: String = code[at..]
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            continue;
        }
        let end = item_end(code, at);
        if !code[at..end].ends_with('}') {
            continue;
        }
        let first = code[..start].matches('\n').count();
        let last = code[..end].matches('\n').count();
        out.push((name, last - first + 1));
    }
    out
}
