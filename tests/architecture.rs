//! The architecture of ARCHITECTURE.md, checked: the crates depend on each other
//! in one direction only, the files of each crate import each other in one
//! direction only, and the wall clock and I/O are reached only where the code map
//! says.
//!
//! - `crates_depend_on_the_layers_below_them_only`: the workspace's manifests
//!   (`cargo metadata`) against [`LAYERS`]: each crate's normal dependencies on
//!   workspace crates, and on the external crates that do I/O or read the clock.
//! - `no_import_cycle_among_the_files_of_any_crate`: Cargo forbids cycles between
//!   crates; this does the same for the files of one crate, where the compiler
//!   allows them. A reference is any path that starts with `crate::` or
//!   `super::` (and a `use` of a child module), in a `use` with its `{}` groups or
//!   in an expression, outside comments and string literals. It points to the file
//!   of the longest module prefix of the path; a name that module imports (`use`,
//!   `pub use`) is followed to where it comes from, so that a re-export in a
//!   parent module does not hide a loop between two of its children. Inline
//!   modules (`mod tests { use super::*; }`) belong to their file.
//! - `cli_and_http_do_not_import_each_other_and_app_imports_neither`: in the
//!   binary's file graph, no file of one transport (`cli/`, `http/`) imports a
//!   file of the other, and the application layer (`app/`) imports neither
//!   ([`TRANSPORTS_APART`]).
//! - `no_wall_clock_and_no_io_where_the_architecture_says_none`: the sources of
//!   each crate (outside comments and strings) against [`REACHES`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

/// A module path inside a crate: `["contract", "state"]`; empty for the root.
type ModPath = Vec<String>;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    PathSep,
    Open,
    Close,
    Comma,
    Star,
    Dollar,
    Semi,
    Other,
}

/// The tokens of Rust source that matter for paths: comments and literals
/// (strings, raw strings, byte strings, chars) are dropped.
fn tokens(src: &str) -> Vec<Tok> {
    let c: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        let next = c.get(i + 1).copied();
        if ch == '/' && next == Some('/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && next == Some('*') {
            i = skip_block_comment(&c, i);
        } else if ch == '"' {
            i = skip_string(&c, i + 1);
            out.push(Tok::Other);
        } else if let Some(end) = raw_or_byte_string(&c, i) {
            i = end;
            out.push(Tok::Other);
        } else if ch == '\'' {
            i = skip_char_or_lifetime(&c, i);
            out.push(Tok::Other);
        } else if ch.is_alphabetic() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            let word: String = c[start..i].iter().collect();
            out.push(Tok::Ident(word.trim_start_matches("r#").to_owned()));
        } else {
            i += 1;
            out.push(match ch {
                ':' if next == Some(':') => {
                    i += 1;
                    Tok::PathSep
                }
                '{' => Tok::Open,
                '}' => Tok::Close,
                ',' => Tok::Comma,
                '*' => Tok::Star,
                '$' => Tok::Dollar,
                ';' => Tok::Semi,
                c if c.is_whitespace() => continue,
                _ => Tok::Other,
            });
        }
    }
    out
}

fn skip_block_comment(c: &[char], mut i: usize) -> usize {
    let mut depth = 0;
    while i < c.len() {
        if c[i] == '/' && c.get(i + 1) == Some(&'*') {
            depth += 1;
            i += 2;
        } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    i
}

/// The index after the closing quote of a string whose body starts at `i`.
fn skip_string(c: &[char], mut i: usize) -> usize {
    while i < c.len() {
        match c[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    i
}

/// `r"…"`, `r#"…"#`, `b"…"`, `br#"…"#`, `b'x'`: the index after it, when one
/// starts at `i` (and `i` does not continue an identifier).
fn raw_or_byte_string(c: &[char], i: usize) -> Option<usize> {
    if i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_') {
        return None;
    }
    let mut j = i;
    if c.get(j) == Some(&'b') {
        j += 1;
        if c.get(j) == Some(&'\'') {
            return Some(skip_char_or_lifetime(c, j));
        }
        if c.get(j) == Some(&'"') {
            return Some(skip_string(c, j + 1));
        }
    }
    if c.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let mut hashes = 0;
    while c.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    if c.get(j) != Some(&'"') {
        return None;
    }
    j += 1;
    while j < c.len() {
        if c[j] == '"' && (1..=hashes).all(|k| c.get(j + k) == Some(&'#')) {
            return Some(j + 1 + hashes);
        }
        j += 1;
    }
    Some(j)
}

/// A char literal (`'a'`, `'\n'`, `'\u{1F600}'`) or a lifetime (`'a`): the
/// index after it.
fn skip_char_or_lifetime(c: &[char], i: usize) -> usize {
    if c.get(i + 1) == Some(&'\\') {
        let mut j = i + 2;
        while j < c.len() && c[j] != '\'' {
            j += 1;
        }
        return j + 1;
    }
    if c.get(i + 2) == Some(&'\'') {
        return i + 3;
    }
    let mut j = i + 1;
    while j < c.len() && (c[j].is_alphanumeric() || c[j] == '_') {
        j += 1;
    }
    j
}

/// One path found in a file: where it was written (the module, with the inline
/// modules around it) and its segments as written, from `crate` or `super`.
#[derive(Debug, Clone)]
struct Written {
    at: ModPath,
    segments: Vec<String>,
    /// Written in a `use` declaration (an import the module makes).
    in_use: bool,
    /// The name the `use` binds (its last segment, or its `as` alias).
    binds: Option<String>,
}

/// Every `crate::…` / `super::…` / (in `use`) relative path of a file, groups
/// expanded.
fn paths_of(file_mod: &ModPath, toks: &[Tok]) -> Vec<Written> {
    let mut out = Vec::new();
    // The inline modules open at each brace depth.
    let mut inline: Vec<(usize, String)> = Vec::new();
    let mut depth = 0usize;
    let mut in_use = false;
    let mut i = 0;
    while i < toks.len() {
        let at: ModPath = file_mod
            .iter()
            .cloned()
            .chain(inline.iter().map(|(_, m)| m.clone()))
            .collect();
        match &toks[i] {
            Tok::Open => depth += 1,
            Tok::Close => {
                if inline.last().is_some_and(|(d, _)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
            }
            Tok::Semi => in_use = false,
            Tok::Ident(w) if w == "use" => in_use = true,
            Tok::Ident(w) if w == "mod" => {
                if let (Some(Tok::Ident(name)), Some(Tok::Open)) =
                    (toks.get(i + 1), toks.get(i + 2))
                {
                    inline.push((depth + 1, name.clone()));
                }
            }
            Tok::Ident(w)
                if (w == "crate" || w == "super" || (in_use && starts_use(toks, i)))
                    && toks.get(i + 1) == Some(&Tok::PathSep)
                    && !matches!(
                        i.checked_sub(1).map(|p| &toks[p]),
                        Some(Tok::PathSep | Tok::Dollar)
                    ) =>
            {
                let mut found = Vec::new();
                let end = tree(toks, i, Vec::new(), &mut found);
                for (segments, binds) in found {
                    out.push(Written {
                        at: at.clone(),
                        segments,
                        in_use,
                        binds: in_use.then_some(binds).flatten(),
                    });
                }
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// True when the identifier at `i` starts the path of a `use` declaration
/// (it follows `use` or `pub use`, possibly with `::` before it).
fn starts_use(toks: &[Tok], i: usize) -> bool {
    matches!(i.checked_sub(1).map(|p| &toks[p]), Some(Tok::Ident(w)) if w == "use")
}

/// Parses a path tree starting at `i` (segments, `::`, `{…}` groups, `*`,
/// `self`, `as` aliases); pushes each leaf path with the name it binds; returns
/// the index after the tree.
fn tree(
    toks: &[Tok],
    mut i: usize,
    mut prefix: Vec<String>,
    found: &mut Vec<(Vec<String>, Option<String>)>,
) -> usize {
    loop {
        match toks.get(i) {
            Some(Tok::Ident(w)) if w == "self" && !prefix.is_empty() => {
                let binds = prefix.last().cloned();
                found.push((prefix, binds));
                return i + 1;
            }
            Some(Tok::Ident(w)) => {
                prefix.push(w.clone());
                i += 1;
                if toks.get(i) == Some(&Tok::PathSep) {
                    i += 1;
                    continue;
                }
                let mut binds = Some(w.clone());
                if matches!(toks.get(i), Some(Tok::Ident(a)) if a == "as") {
                    if let Some(Tok::Ident(alias)) = toks.get(i + 1) {
                        binds = Some(alias.clone());
                    }
                    i += 2;
                }
                found.push((prefix, binds));
                return i;
            }
            Some(Tok::Star) => {
                found.push((prefix, None));
                return i + 1;
            }
            Some(Tok::Open) => {
                i += 1;
                while i < toks.len() && toks[i] != Tok::Close {
                    if toks[i] == Tok::Comma {
                        i += 1;
                        continue;
                    }
                    i = tree(toks, i, prefix.clone(), found);
                }
                return i + 1;
            }
            _ => {
                found.push((prefix, None));
                return i;
            }
        }
    }
}

/// The module path a written path names, from the module it was written in:
/// `crate` and `super` resolved; a relative `use` path (`use driver::x` in a
/// module with a child `driver`) taken from the module.
fn absolute(w: &Written, files: &BTreeSet<ModPath>) -> Option<ModPath> {
    let mut segs = w.segments.iter().peekable();
    let mut base: ModPath = match segs.peek().map(|s| s.as_str()) {
        Some("crate") => {
            segs.next();
            Vec::new()
        }
        Some("super") => w.at.clone(),
        Some(first) => {
            let mut child = w.at.clone();
            child.push(first.to_owned());
            if !files.contains(&child) {
                return None;
            }
            w.at.clone()
        }
        None => return None,
    };
    while segs.peek().map(|s| s.as_str()) == Some("super") {
        segs.next();
        base.pop()?;
    }
    base.extend(segs.cloned());
    Some(base)
}

/// The file module a path reaches: its longest prefix that is a file, following
/// the imports of that module (a bounded number of times).
fn resolve(
    path: &ModPath,
    files: &BTreeSet<ModPath>,
    imports: &BTreeMap<ModPath, BTreeMap<String, ModPath>>,
    hops: u32,
) -> ModPath {
    let file = (0..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| files.contains(p))
        .unwrap_or_default();
    if hops == 0 || path.len() <= file.len() {
        return file;
    }
    let name = &path[file.len()];
    match imports.get(&file).and_then(|m| m.get(name)) {
        Some(target) => {
            let mut next = target.clone();
            next.extend(path[file.len() + 1..].iter().cloned());
            resolve(&next, files, imports, hops - 1)
        }
        None => file,
    }
}

/// A package of the workspace, as `cargo metadata` describes it.
struct Package {
    name: String,
    dir: PathBuf,
    /// Its normal dependencies (not dev or build): name and enabled features.
    deps: Vec<(String, Vec<String>)>,
}

/// The packages of the workspace, from `cargo metadata` (no resolution, no
/// network): the manifests as Cargo reads them.
fn workspace() -> Vec<Package> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root)
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata JSON");
    let packages = meta["packages"].as_array().expect("packages");
    packages
        .iter()
        .map(|p| {
            let manifest = PathBuf::from(p["manifest_path"].as_str().expect("manifest_path"));
            let deps = p["dependencies"]
                .as_array()
                .expect("dependencies")
                .iter()
                .filter(|d| d["kind"].is_null())
                .map(|d| {
                    let features = d["features"]
                        .as_array()
                        .map(|f| {
                            f.iter()
                                .filter_map(|x| x.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default();
                    (d["name"].as_str().expect("name").to_owned(), features)
                })
                .collect();
            Package {
                name: p["name"].as_str().expect("name").to_owned(),
                dir: manifest
                    .parent()
                    .expect("a package directory")
                    .to_path_buf(),
                deps,
            }
        })
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/contract/state.rs` → `["contract", "state"]`; `lib.rs`, `main.rs` and
/// `mod.rs` name their directory's module.
fn module_of(src: &Path, file: &Path) -> ModPath {
    let rel = file.strip_prefix(src).expect("under src");
    let mut parts: ModPath = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The file-to-file graph of one crate, from its sources by module path.
fn graph(sources: &BTreeMap<ModPath, String>) -> BTreeMap<ModPath, BTreeSet<ModPath>> {
    let files: BTreeSet<ModPath> = sources.keys().cloned().collect();
    let written: BTreeMap<ModPath, Vec<Written>> = sources
        .iter()
        .map(|(m, src)| (m.clone(), paths_of(m, &tokens(src))))
        .collect();
    let mut imports: BTreeMap<ModPath, BTreeMap<String, ModPath>> = BTreeMap::new();
    for (m, ws) in &written {
        for w in ws.iter().filter(|w| w.in_use && w.at == *m) {
            if let (Some(name), Some(abs)) = (&w.binds, absolute(w, &files)) {
                imports
                    .entry(m.clone())
                    .or_default()
                    .insert(name.clone(), abs);
            }
        }
    }
    let mut edges: BTreeMap<ModPath, BTreeSet<ModPath>> = BTreeMap::new();
    for (m, ws) in &written {
        let out = edges.entry(m.clone()).or_default();
        for w in ws {
            if let Some(abs) = absolute(w, &files) {
                let to = resolve(&abs, &files, &imports, 8);
                if to != *m {
                    out.insert(to);
                }
            }
        }
    }
    edges
}

/// One cycle of each strongly connected component with more than one file
/// (Tarjan's algorithm, then a path back to the component's first file).
fn cycles(edges: &BTreeMap<ModPath, BTreeSet<ModPath>>) -> Vec<(Vec<ModPath>, Vec<ModPath>)> {
    struct Tarjan<'g> {
        edges: &'g BTreeMap<ModPath, BTreeSet<ModPath>>,
        index: BTreeMap<&'g ModPath, usize>,
        low: BTreeMap<&'g ModPath, usize>,
        stack: Vec<&'g ModPath>,
        on_stack: BTreeSet<&'g ModPath>,
        components: Vec<Vec<&'g ModPath>>,
    }
    impl<'g> Tarjan<'g> {
        fn visit(&mut self, v: &'g ModPath) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.edges.get(v).into_iter().flatten() {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(lw);
                } else if self.on_stack.contains(w) {
                    let iw = self.index[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(iw);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                self.components.push(component);
            }
        }
    }
    let mut t = Tarjan {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        components: Vec::new(),
    };
    for v in edges.keys() {
        if !t.index.contains_key(v) {
            t.visit(v);
        }
    }
    t.components
        .into_iter()
        .filter(|c| c.len() > 1)
        .map(|c| {
            let members: BTreeSet<&ModPath> = c.iter().copied().collect();
            let start = *members.iter().next().expect("non-empty");
            let cycle = cycle_through(edges, &members, start);
            (members.into_iter().cloned().collect(), cycle)
        })
        .collect()
}

/// A shortest cycle through `start` inside `members` (breadth-first).
fn cycle_through(
    edges: &BTreeMap<ModPath, BTreeSet<ModPath>>,
    members: &BTreeSet<&ModPath>,
    start: &ModPath,
) -> Vec<ModPath> {
    let mut parent: BTreeMap<&ModPath, &ModPath> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for w in edges.get(v).into_iter().flatten() {
            if !members.contains(w) {
                continue;
            }
            if w == start {
                let mut path = vec![v.clone()];
                let mut at = v;
                while at != start {
                    at = parent[at];
                    path.push(at.clone());
                }
                path.reverse();
                path.push(start.clone());
                return path;
            }
            if !parent.contains_key(w) {
                parent.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    vec![start.clone()]
}

fn show(m: &ModPath) -> String {
    if m.is_empty() {
        "crate".to_owned()
    } else {
        m.join("::")
    }
}

/// The cycles of the crate whose sources are given, each as
/// `a -> b -> a`.
fn crate_cycles(sources: &BTreeMap<ModPath, String>) -> Vec<String> {
    cycles(&graph(sources))
        .iter()
        .map(|(_, c)| c.iter().map(show).collect::<Vec<_>>().join(" -> "))
        .collect()
}

/// The sources of a package's `src/`, by module path.
fn package_sources(p: &Package) -> BTreeMap<ModPath, String> {
    let src = p.dir.join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(!files.is_empty(), "{}: no source files", src.display());
    files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).expect("source file");
            (module_of(&src, f), text)
        })
        .collect()
}

#[test]
fn no_import_cycle_among_the_files_of_any_crate() {
    let mut found = Vec::new();
    let packages = workspace();
    for p in &packages {
        let sources = package_sources(p);
        // `NAVIGO_MODULE_GRAPH_DUMP=<package>` prints its graph, to plan a cut.
        if std::env::var("NAVIGO_MODULE_GRAPH_DUMP").is_ok_and(|d| d == p.name) {
            for (from, to) in graph(&sources) {
                let to: Vec<String> = to.iter().map(show).collect();
                eprintln!("{} -> {}", show(&from), to.join(", "));
            }
        }
        for (members, cycle) in cycles(&graph(&sources)) {
            found.push(format!("{}: {}", p.name, describe(&members, &cycle)));
        }
    }
    assert!(
        packages.len() > 1,
        "the workspace's packages were not found"
    );
    assert!(
        found.is_empty(),
        "import cycles among files (break each by moving what both sides need into \
         a module of its own):\n{}",
        found.join("\n")
    );
}

/// The binary's top-level modules that may not import one another: its two
/// transports (each imports the application layer, never the other), and the
/// application layer (which knows neither transport).
const TRANSPORTS_APART: &[(&str, &str)] = &[
    ("cli", "http"),
    ("http", "cli"),
    ("app", "cli"),
    ("app", "http"),
];

/// Every import from a file under one top-level module to a file under another
/// that [`TRANSPORTS_APART`] forbids, as `from -> to`.
fn transport_crossings(edges: &BTreeMap<ModPath, BTreeSet<ModPath>>) -> Vec<String> {
    let top = |m: &ModPath| m.first().cloned().unwrap_or_default();
    let mut out = Vec::new();
    for (from, tos) in edges {
        for to in tos {
            let pair = (top(from), top(to));
            if TRANSPORTS_APART
                .iter()
                .any(|(a, b)| pair.0 == *a && pair.1 == *b)
            {
                out.push(format!("{} -> {}", show(from), show(to)));
            }
        }
    }
    out
}

#[test]
fn cli_and_http_do_not_import_each_other_and_app_imports_neither() {
    // Given the binary's file graph,
    let binary = workspace()
        .into_iter()
        .find(|p| p.name == "navigo-ledger")
        .expect("the binary's package");
    let edges = graph(&package_sources(&binary));
    // then no file of one transport imports a file of the other, and the
    // application layer imports neither,
    let crossings = transport_crossings(&edges);
    assert!(
        crossings.is_empty(),
        "the transports import each other, or the application layer imports one: move \
         what both need into app/:\n{}",
        crossings.join("\n")
    );
    // while both transports do import the application layer (the graph sees
    // their imports).
    for transport in ["cli", "http"] {
        assert!(
            edges.iter().any(|(from, to)| {
                from.first().is_some_and(|f| f == transport)
                    && to.iter().any(|t| t.first().is_some_and(|t| t == "app"))
            }),
            "{transport} imports nothing of app"
        );
    }
}

#[test]
fn module_graph_names_a_transport_that_imports_the_other() {
    let s = sources(&[
        ("", "mod app; mod cli; mod http;"),
        ("app", "pub fn view() {}"),
        ("cli", "pub mod apply;"),
        ("cli::apply", "use crate::app::view; pub fn line() {}"),
        ("http", "pub mod routes;"),
        ("http::routes", "fn f() { crate::cli::apply::line(); }"),
    ]);
    assert_eq!(
        transport_crossings(&graph(&s)),
        vec!["http::routes -> cli::apply".to_owned()]
    );
}

/// The layers, lowest first: the workspace crates each crate may depend on
/// (normal dependencies; tests and benchmarks may use any crate).
const LAYERS: &[(&str, &[&str])] = &[
    ("navigo-events-schema", &[]),
    ("navigo-merkle", &[]),
    ("navigo-rules", &["navigo-events-schema"]),
    ("navigo-store", &["navigo-events-schema", "navigo-merkle"]),
    (
        "navigo-store-sled",
        &["navigo-events-schema", "navigo-merkle", "navigo-store"],
    ),
    (
        "navigo-store-postgres",
        &["navigo-events-schema", "navigo-merkle", "navigo-store"],
    ),
    (
        "navigo-ledger-core",
        &["navigo-events-schema", "navigo-rules", "navigo-store"],
    ),
    (
        "navigo-projections",
        &["navigo-events-schema", "navigo-rules"],
    ),
    (
        "navigo-replay",
        &["navigo-events-schema", "navigo-rules", "navigo-projections"],
    ),
    (
        "navigo-sim",
        &[
            "navigo-events-schema",
            "navigo-rules",
            "navigo-store",
            "navigo-ledger-core",
            // The files a bank writes back, which the driver sends the ledger.
            "navigo-bank",
        ],
    ),
    ("navigo-testkit", &["navigo-events-schema", "navigo-rules"]),
    // The bank files: `Money` and `ReasonCode` of the wire types, nothing of
    // the rules, the store or the mandates.
    ("navigo-bank", &["navigo-events-schema"]),
    // The independent verifier is written from the documents alone: no
    // workspace crate (`independent_verifier_depends_on_no_navigo_crate`).
    ("navigo-verifier", &[]),
    (
        "navigo-ledger",
        &[
            "navigo-events-schema",
            "navigo-rules",
            "navigo-merkle",
            "navigo-store",
            "navigo-store-sled",
            "navigo-store-postgres",
            "navigo-ledger-core",
            "navigo-projections",
            "navigo-replay",
            "navigo-sim",
            "navigo-bank",
        ],
    ),
];

/// External crates that do I/O or run tasks, and the crates allowed to depend on
/// them (normal dependencies).
const IO_CRATES: &[(&str, &[&str])] = &[
    // navigo-store: only with its `conformance` feature, which the tests of a
    // backend enable.
    (
        "tokio",
        &[
            "navigo-store",
            "navigo-store-sled",
            "navigo-store-postgres",
            "navigo-ledger",
        ],
    ),
    ("tokio-postgres", &["navigo-store-postgres"]),
    ("sled", &["navigo-store-sled", "navigo-replay"]),
    ("axum", &["navigo-ledger"]),
];

/// The crates whose manifest may enable a wall-clock feature: `clock` of chrono
/// (`Utc::now`) and `v7` of uuid (`Uuid::now_v7`).
const CLOCK_READERS: &[&str] = &["navigo-ledger"];

#[test]
fn crates_depend_on_the_layers_below_them_only() {
    let packages = workspace();
    let members: BTreeSet<&str> = packages.iter().map(|p| p.name.as_str()).collect();
    let mut wrong = Vec::new();
    for p in &packages {
        let Some((_, allowed)) = LAYERS.iter().find(|(n, _)| *n == p.name) else {
            wrong.push(format!("{} has no place in LAYERS", p.name));
            continue;
        };
        for (dep, features) in &p.deps {
            if members.contains(dep.as_str()) && !allowed.contains(&dep.as_str()) {
                wrong.push(format!(
                    "{} depends on {dep}, a layer it may not reach",
                    p.name
                ));
            }
            if let Some((_, who)) = IO_CRATES.iter().find(|(c, _)| c == dep) {
                if !who.contains(&p.name.as_str()) {
                    wrong.push(format!("{} depends on {dep} (I/O or tasks)", p.name));
                }
            }
            let clock = (dep == "chrono" && features.iter().any(|f| f == "clock"))
                || (dep == "uuid" && features.iter().any(|f| f == "v7"));
            if clock && !CLOCK_READERS.contains(&p.name.as_str()) {
                wrong.push(format!("{} enables the wall clock of {dep}", p.name));
            }
        }
    }
    assert!(wrong.is_empty(), "layering broken:\n{}", wrong.join("\n"));
}

#[test]
fn independent_verifier_depends_on_no_navigo_crate() {
    // Given the independent verifier's manifest as Cargo reads it,
    let packages = workspace();
    let verifier = packages
        .iter()
        .find(|p| p.name == "navigo-verifier")
        .expect("the independent verifier is a workspace member");
    // then none of its normal dependencies is a navigo crate (a shared
    // mistake could then only come from the documents), while it does read
    // what it needs (the graph sees its dependencies).
    let navigo: Vec<&str> = verifier
        .deps
        .iter()
        .map(|(d, _)| d.as_str())
        .filter(|d| d.starts_with("navigo"))
        .collect();
    assert!(
        navigo.is_empty(),
        "navigo-verifier depends on {navigo:?}: it must be written from the documents alone"
    );
    assert!(verifier.deps.iter().any(|(d, _)| d == "ed25519-dalek"));
}

/// Where a reach is allowed: a package, and the file (module path) when only
/// one may ("" for every file of the package).
type Allowed = &'static [(&'static str, &'static str)];

/// Paths that read the wall clock, a monotonic clock, or do I/O, and where each
/// is allowed.
const REACHES: &[(&[&str], Allowed)] = &[
    (
        &[
            "Utc::now",
            "Local::now",
            "SystemTime",
            "now_v7",
            "Instant::now",
        ],
        &[("navigo-ledger", ""), ("navigo-sim", "driver")],
    ),
    (
        &[
            "std::fs",
            "std::net",
            "std::process",
            "File::open",
            "File::create",
        ],
        &[
            ("navigo-ledger", ""),
            ("navigo-store-sled", ""),
            ("navigo-replay", "materialize"),
            // The projections' directory: which database is current, the old
            // one's files deleted after an erasure.
            ("navigo-replay", "materialize::dir"),
            ("navigo-store-postgres", "cluster"),
            // The simulator's plan spilled to a temporary file, read back a
            // window at a time.
            ("navigo-sim", "spill"),
            // Its binary reads the files it checks (its library takes bytes;
            // `main` and `lib` share the crate's root module path).
            ("navigo-verifier", ""),
        ],
    ),
    (
        &["sled", "tokio"],
        &[
            ("navigo-ledger", ""),
            ("navigo-store-sled", ""),
            ("navigo-store-postgres", ""),
            ("navigo-replay", ""),
            ("navigo-store", "conformance"),
            // The benchmarks' shared append workload runs tokio tasks.
            ("navigo-store", "workload"),
        ],
    ),
];

/// Where a token sequence spelling `path` (`a::b` or one identifier) starts
/// a path in the tokens.
fn mentions(toks: &[Tok], path: &str) -> bool {
    let want: Vec<&str> = path.split("::").collect();
    toks.windows(want.len() * 2 - 1).any(|w| {
        w.iter().enumerate().all(|(i, t)| match (i % 2, t) {
            (0, Tok::Ident(x)) => x == want[i / 2],
            (1, Tok::PathSep) => true,
            _ => false,
        })
    })
}

#[test]
fn no_wall_clock_and_no_io_where_the_architecture_says_none() {
    let mut wrong = Vec::new();
    for p in &workspace() {
        for (module, src) in package_sources(p) {
            let toks = tokens(&src);
            for (paths, allowed) in REACHES {
                for path in *paths {
                    let ok = allowed
                        .iter()
                        .any(|(pkg, m)| *pkg == p.name && (m.is_empty() || show(&module) == *m));
                    if !ok && mentions(&toks, path) {
                        wrong.push(format!("{} {}: {path}", p.name, show(&module)));
                    }
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "clock or I/O where ARCHITECTURE.md says there is none:\n{}",
        wrong.join("\n")
    );
}

/// One cycle and the files of its loop, for a message.
fn describe(members: &[ModPath], cycle: &[ModPath]) -> String {
    let cycle = cycle.iter().map(show).collect::<Vec<_>>().join(" -> ");
    let all = members.iter().map(show).collect::<Vec<_>>().join(", ");
    format!(
        "{cycle}\n    (the loop holds {} files: {all})",
        members.len()
    )
}

fn sources(files: &[(&str, &str)]) -> BTreeMap<ModPath, String> {
    files
        .iter()
        .map(|(m, s)| {
            let path: ModPath = if m.is_empty() {
                Vec::new()
            } else {
                m.split("::").map(str::to_owned).collect()
            };
            (path, (*s).to_owned())
        })
        .collect()
}

#[test]
fn module_graph_names_a_cycle_through_use_groups_and_expressions() {
    let s = sources(&[
        ("", "pub mod a; pub mod b; pub mod c;"),
        ("a", "use crate::{b::{self, B as Bee}};"),
        ("b", "fn f() { crate::c::g(); }"),
        ("c", "pub fn g() { let _ = super::a::X; }"),
    ]);
    assert_eq!(crate_cycles(&s), vec!["a -> b -> c -> a".to_owned()]);
}

#[test]
fn module_graph_ignores_comments_strings_and_the_tests_module_of_a_file() {
    let s = sources(&[
        ("", "pub mod a; pub mod b;"),
        (
            "a",
            "use crate::b::B;\n#[cfg(test)] mod tests { use super::*; }\n\
             /* crate::b::x */ const S: &str = \"crate::b\"; const R: &str = r#\"super::b\"#;",
        ),
        (
            "b",
            "// use crate::a::A;\nconst C: char = '\"'; fn f<'a>(x: &'a str) -> &'a str { x }",
        ),
    ]);
    assert!(crate_cycles(&s).is_empty());
}

#[test]
fn module_graph_follows_a_reexport_of_the_parent_module() {
    // `left` reaches `right` only through the parent's `pub use`, and `right`
    // reaches `left` directly: still a cycle.
    let s = sources(&[
        ("", "pub mod family;"),
        (
            "family",
            "pub mod left; pub mod right; pub use right::helper;",
        ),
        ("family::left", "use super::helper;"),
        ("family::right", "pub fn helper() { super::left::thing(); }"),
    ]);
    assert_eq!(
        crate_cycles(&s),
        vec!["family::left -> family::right -> family::left".to_owned()]
    );
}
