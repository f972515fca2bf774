//! Structural rules for `shared/src`, checked by scanning the source text (std only, no parser).
//!
//! The crate is organised as one module per action behind a registry; these rules keep it so:
//! 1. **No import cycle** between modules: two modules that import each other can no longer be
//!    read, tested or moved alone, and one action quietly comes to depend on another. Imports
//!    name the defining module, since a path through the `lib.rs` re-exports (`crate::X`) hides
//!    the real dependency.
//! 2. **No function longer than 80 lines**, so that every function can be read on one screen.
//! 3. **Action names are spelled only in `kind.rs` (`ActionKind::name`) and the tag codecs**: a
//!    literal such as `"isolate-instance"` anywhere else is a second copy of the name that can drift.
//! 4. **No upward import**: every module sits on a floor of [`FLOORS`] (ARCHITECTURE.md, "Who owns
//!    what"), and imports only from its own floor or one below.
//! 5. **No file over 500 lines** outside its `#[cfg(test)]` code: one idea per file.
//!
//! The scanner blanks comments and string, char and byte literals (raw ones too), then works on
//! tokens. Limits: macros are not expanded; `#[cfg(test)]` is recognised only directly on a `mod`;
//! code in an inline non-test `mod x { .. }` counts as the enclosing file's module; modules are
//! the `.rs` files found under src (not the `mod` declarations), so a child module used by bare
//! name is recognised only when it has its own file.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

const SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
const MAX_FN_LINES: usize = 80;
const MAX_FILE_LINES: usize = 500;

/// The floors of ARCHITECTURE.md, lowest first, each with its modules (a module and everything
/// under it; the longest prefix decides). A module imports only from its own floor or one below.
const FLOORS: [(&str, &[&str]); 8] = [
    (
        "ground",
        &[
            "error", "clock", "retry", "kind", "outcome", "incident", "ports", "tags", "denies",
            "records", "seal", "shell",
        ],
    ),
    ("decision", &["config", "plan", "playbook"]),
    ("actions", &["actions", "permissions"]),
    ("schedulers", &["execute"]),
    (
        "output",
        &[
            "chat",
            "report",
            "metrics",
            "respond",
            "custom_action",
            "digest",
            "approval",
            "imported",
            "reminder",
            "sequence",
            "ticketing",
        ],
    ),
    ("adapters", &["aws", "tickets"]),
    ("wiring", &["responder"]),
    ("tools", &["bin"]),
];

/// The floor of `module` (its index in [`FLOORS`] and name), by the longest prefix that names it.
fn floor_of(module: &str) -> Option<(usize, &'static str)> {
    let mut best: Option<(usize, usize, &str)> = None;
    for (i, (name, prefixes)) in FLOORS.iter().enumerate() {
        for p in prefixes.iter() {
            let under = module == *p || module.starts_with(&format!("{p}::"));
            if under && best.is_none_or(|(len, _, _)| p.len() > len) {
                best = Some((p.len(), i, name));
            }
        }
    }
    best.map(|(_, i, name)| (i, name))
}
/// Where action names may be spelled: these files, and the files under these directories, of src.
const ACTION_NAME_FILES: [&str; 2] = ["kind.rs", "tags/"];

fn action_names() -> Vec<&'static str> {
    firebreak::kind::ActionKind::all()
        .map(|k| k.name())
        .collect()
}

/// `(byte offset, text)` of tokens or string literals.
type Spans = Vec<(usize, String)>;

/// One source file, lexed. Offsets are byte offsets into the file.
struct SrcFile {
    rel: String,                // path relative to src, with '/'
    module: String,             // "" for lib.rs, "a::b" for a/b.rs or a/b/mod.rs
    toks: Spans,                // the code's tokens, with comments and literals blanked
    strings: Spans,             // every string literal's raw content
    tests: Vec<(usize, usize)>, // `#[cfg(test)] mod x { .. }` blocks
    test_mods: Vec<String>,     // modules declared `#[cfg(test)] mod x;`
    newlines: Vec<usize>,
}

impl SrcFile {
    fn line(&self, at: usize) -> usize {
        self.newlines.partition_point(|&n| n < at) + 1
    }
    fn in_test(&self, at: usize) -> bool {
        self.tests.iter().any(|&(a, b)| a <= at && at <= b)
    }
    /// Tokens outside test code, and their offsets.
    fn live(&self) -> (Vec<&str>, Vec<usize>) {
        let live = self.toks.iter().filter(|t| !self.in_test(t.0));
        live.map(|(at, t)| (t.as_str(), *at)).unzip()
    }
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn is_ident(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
}

/// Blanks comments and literals (keeping newlines, so offsets and lines still match) and returns
/// the tokens of what is left, plus every string literal.
fn lex(src: &[u8]) -> (Spans, Spans) {
    let (n, at) = (src.len(), |i: usize| src.get(i).copied().unwrap_or(0));
    let mut code = src.to_vec();
    let mut strings = Vec::new();
    let mut blank = |a: usize, b: usize| {
        let blank = code.iter_mut().take(b.min(n)).skip(a);
        blank.filter(|c| **c != b'\n').for_each(|c| *c = b' ');
    };
    let mut i = 0;
    while i < n {
        let end = match (src[i], at(i + 1)) {
            (b'/', b'/') => (i..n).find(|&j| src[j] == b'\n').unwrap_or(n),
            (b'/', b'*') => {
                let (mut j, mut depth) = (i + 2, 1);
                while j < n && depth > 0 {
                    match (src[j], at(j + 1)) {
                        (b'/', b'*') => (depth, j) = (depth + 1, j + 1),
                        (b'*', b'/') => (depth, j) = (depth - 1, j + 1),
                        _ => {}
                    }
                    j += 1;
                }
                j
            }
            (b'"', _) => {
                let mut j = i + 1;
                while j < n && src[j] != b'"' {
                    j += if src[j] == b'\\' { 2 } else { 1 };
                }
                let text = String::from_utf8_lossy(&src[i + 1..j.min(n)]);
                strings.push((i, text.into_owned()));
                j + 1
            }
            // A char literal ('x', '\'', '\u{7d}', 'é'); otherwise a lifetime or label.
            (b'\'', b'\\') => {
                let close = (i + 3..n).find(|&j| matches!(src[j], b'\'' | b'\n'));
                close.filter(|&j| src[j] == b'\'').map_or(i + 1, |j| j + 1)
            }
            (b'\'', c) => {
                let len = (c.leading_ones() as usize).clamp(1, 4); // UTF-8 length
                let close = Some(i + 1 + len).filter(|&j| at(j) == b'\'' && c != b'\n');
                close.map_or(i + 1, |j| j + 1)
            }
            (c, _) if is_ident_byte(c) => {
                let word_end = (i..n).find(|&j| !is_ident_byte(src[j])).unwrap_or(n);
                let hashes = (word_end..n).take_while(|&j| src[j] == b'#').count();
                let raw = matches!(&src[i..word_end], b"r" | b"br" | b"cr");
                if !raw || at(word_end + hashes) != b'"' {
                    i = word_end; // a word, kept
                    continue;
                }
                // A raw string: ends at the first '"' followed by as many '#'.
                let open = word_end + hashes + 1;
                let close = (open..n)
                    .find(|&j| src[j] == b'"' && (1..=hashes).all(|k| at(j + k) == b'#'))
                    .unwrap_or(n);
                strings.push((i, String::from_utf8_lossy(&src[open..close]).into_owned()));
                close + 1 + hashes
            }
            (c, _) => {
                if !c.is_ascii() {
                    blank(i, i + 1);
                }
                i += 1;
                continue;
            }
        };
        blank(i, end);
        i = end.max(i + 1);
    }
    let mut toks = Vec::new();
    let mut i = 0;
    while i < n {
        let end = match (code[i], code.get(i + 1)) {
            (c, _) if is_ident_byte(c) => (i..n).find(|&j| !is_ident_byte(code[j])).unwrap_or(n),
            (b':', Some(b':')) => i + 2,
            _ => i + 1,
        };
        if !code[i].is_ascii_whitespace() {
            toks.push((i, String::from_utf8_lossy(&code[i..end]).into_owned()));
        }
        i = end;
    }
    (toks, strings)
}

/// Index of the token closing the bracket opened at `t[open]`, if any.
fn matching(t: &[&str], open: usize) -> Option<usize> {
    let (l, r) = match t.get(open).copied() {
        Some("(") => ("(", ")"),
        Some("[") => ("[", "]"),
        _ => ("{", "}"),
    };
    let mut depth = 0usize;
    for (j, &tok) in t.iter().enumerate().skip(open) {
        if tok == l {
            depth += 1;
        } else if tok == r {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                return Some(j);
            }
        }
    }
    None
}

/// Finds `#[cfg(test)] #[..]* pub(..)? mod x` and records the `{ .. }` block or the module `x;`.
fn find_test_modules(f: &mut SrcFile) {
    let t: Vec<&str> = f.toks.iter().map(|t| t.1.as_str()).collect();
    for i in 0..t.len() {
        if t.get(i..i + 7) != Some(&["#", "[", "cfg", "(", "test", ")", "]"][..]) {
            continue;
        }
        let mut j = i + 7;
        while let Some(tok) = t.get(j) {
            j = match (*tok, t.get(j + 1)) {
                ("#", Some(&"[")) | ("pub", Some(&"(")) => matching(&t, j + 1).map_or(j, |k| k + 1),
                ("pub", _) => j + 1,
                _ => break,
            };
        }
        match (t.get(j), t.get(j + 1), t.get(j + 2)) {
            (Some(&"mod"), Some(name), Some(&";")) => f.test_mods.push(join(&f.module, name)),
            (Some(&"mod"), Some(_), Some(&"{")) => {
                let end = matching(&t, j + 2).map_or(usize::MAX, |k| f.toks[k].0);
                f.tests.push((f.toks[i].0, end));
            }
            _ => {}
        }
    }
}

fn join(a: &str, b: &str) -> String {
    format!("{a}::{b}").trim_start_matches("::").to_string()
}

fn collect(dir: &Path, out: &mut Vec<SrcFile>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {dir:?}: {e}"));
    let mut paths: Vec<_> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path
                .strip_prefix(SRC)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            let mut parts: Vec<&str> = rel.trim_end_matches(".rs").split('/').collect();
            if rel == "lib.rs" || (parts.len() > 1 && parts.last() == Some(&"mod")) {
                parts.pop();
            }
            let bytes = std::fs::read(&path).unwrap_or_default();
            let (toks, strings) = lex(&bytes);
            let newlines = (0..bytes.len()).filter(|&i| bytes[i] == b'\n').collect();
            let (tests, test_mods) = (vec![], vec![]);
            let module = parts.join("::");
            let mut f = SrcFile {
                rel,
                module,
                toks,
                strings,
                tests,
                test_mods,
                newlines,
            };
            find_test_modules(&mut f);
            out.push(f);
        }
    }
}

fn sources() -> Vec<SrcFile> {
    let mut files = Vec::new();
    collect(Path::new(SRC), &mut files);
    assert!(!files.is_empty(), "no .rs files found under {SRC}");
    // A file that is a `#[cfg(test)] mod x;` (or inside one) is test code as a whole.
    let test_mods: Vec<String> = files.iter().flat_map(|f| f.test_mods.clone()).collect();
    for f in &mut files {
        let m = f.module.clone() + "::";
        if test_mods.iter().any(|t| m.starts_with(&format!("{t}::"))) {
            f.tests = vec![(0, usize::MAX)];
        }
    }
    files
}

/// Expands the use-tree whose first segment is `t[i]` (`a::b`, `a::{b, c::{self, d as e}}`,
/// `a::*`) into full paths, each appended to `path`; returns the index after the tree.
fn tree<'a>(
    t: &[&'a str],
    mut i: usize,
    mut path: Vec<&'a str>,
    out: &mut Vec<Vec<&'a str>>,
) -> usize {
    loop {
        match t.get(i).copied() {
            Some("{") => {
                i += 1;
                while let Some(&tok) = t.get(i) {
                    i = match tok {
                        "}" => return i + 1,
                        "," => i + 1,
                        "as" => i + 2,
                        _ => match tree(t, i, path.clone(), out) {
                            next if next > i => next,
                            _ => return i,
                        },
                    }
                }
                return i;
            }
            Some("*") | Some("self") => {
                out.push(path);
                return i + 1;
            }
            Some("super") => {
                path.pop();
            }
            Some(id) if is_ident(id) => path.push(id),
            _ => {
                out.push(path);
                return i;
            }
        }
        if t.get(i + 1) != Some(&"::") {
            out.push(path);
            return i + 1;
        }
        i += 2;
    }
}

/// Every path to a module of this crate in the file's live code: `crate::..`, `super::..`,
/// `self::..` and `child::..` (a child module by bare name), with the offset of each.
fn references<'a>(f: &'a SrcFile, modules: &BTreeSet<String>) -> Vec<(usize, Vec<&'a str>)> {
    let (t, at) = f.live();
    let here: Vec<&str> = f.module.split_terminator("::").collect();
    let mut refs = Vec::new();
    for i in 0..t.len() {
        let prev = if i == 0 { "" } else { t[i - 1] };
        if t.get(i + 1) != Some(&"::") || matches!(prev, "::" | "." | "in") {
            continue;
        }
        let (base, start) = match t[i] {
            "crate" => (vec![], i + 2),
            "super" => (here[..here.len().saturating_sub(1)].to_vec(), i + 2),
            "self" => (here.clone(), i + 2),
            child if modules.contains(&join(&f.module, child)) => (here.clone(), i),
            _ => continue,
        };
        let mut paths = Vec::new();
        tree(&t, start, base, &mut paths);
        refs.extend(paths.into_iter().map(|p| (at[i], p)));
    }
    refs
}

/// The shortest import cycle through `v` (BFS), as `[v, .., u]` where `u` imports `v`.
fn shortest_cycle(graph: &BTreeMap<String, BTreeSet<String>>, v: &str) -> Option<Vec<String>> {
    let mut parent: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = VecDeque::from([v]);
    while let Some(u) = queue.pop_front() {
        for w in graph.get(u).into_iter().flatten() {
            if w == v {
                let mut cycle = vec![u.to_string()];
                while let Some(&p) = parent.get(cycle[cycle.len() - 1].as_str()) {
                    cycle.push(p.to_string());
                }
                cycle.reverse();
                return Some(cycle);
            }
            if w != v && !parent.contains_key(w.as_str()) {
                parent.insert(w, u);
                queue.push_back(w);
            }
        }
    }
    None
}

/// The module import graph: the edges, the first site of each, and the paths through lib.rs.
struct Imports {
    graph: BTreeMap<String, BTreeSet<String>>,
    sites: BTreeMap<(String, String), String>,
    via_root: Vec<String>,
}

fn imports(files: &[SrcFile]) -> Imports {
    let modules: BTreeSet<String> = files.iter().map(|f| f.module.clone()).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut sites: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut via_root = Vec::new();
    for f in files.iter().filter(|f| !f.module.is_empty()) {
        for (at, path) in references(f, &modules) {
            let site = format!("{}:{}", f.rel, f.line(at));
            let prefixes = (1..=path.len()).rev().map(|k| path[..k].join("::"));
            let Some(target) = prefixes.into_iter().find(|m| modules.contains(m)) else {
                via_root.push(format!("{site} `crate::{}`", path.join("::")));
                continue;
            };
            if target != f.module {
                graph
                    .entry(f.module.clone())
                    .or_default()
                    .insert(target.clone());
                sites.entry((f.module.clone(), target)).or_insert(site);
            }
        }
    }
    Imports {
        graph,
        sites,
        via_root,
    }
}

#[test]
fn modules_do_not_import_each_other_in_a_circle() {
    let Imports {
        graph,
        sites,
        via_root,
    } = imports(&sources());
    println!("module import edges (first site of each):");
    for ((from, to), site) in &sites {
        println!("  {from} -> {to}    ({site})");
    }
    // The shortest cycle through each module, rotated to start at its smallest one.
    let mut cycles = BTreeSet::new();
    for mut cycle in graph.keys().filter_map(|v| shortest_cycle(&graph, v)) {
        let first = (0..cycle.len()).min_by_key(|&k| &cycle[k]).unwrap_or(0);
        cycle.rotate_left(first);
        cycle.push(cycle[0].clone());
        cycles.insert(cycle.join(" -> "));
    }
    let mut problems = Vec::new();
    if !via_root.is_empty() {
        let list = via_root.join("\n  ");
        problems.push(format!(
            "{} path(s) `crate::X..` where X is no module file under src, i.e. a re-export of \
             lib.rs (or a module that is gone); import from the defining module instead \
             (`crate::module::Name`):\n  {list}",
            via_root.len()
        ));
    }
    if !cycles.is_empty() {
        let list = cycles.iter().cloned().collect::<Vec<_>>().join("\n  ");
        problems.push(format!(
            "import cycles (the shortest through each module; break each one, e.g. by moving \
             what both sides need into a module of their own):\n  {list}"
        ));
    }
    assert!(
        problems.is_empty(),
        "\n{}\n(--nocapture prints every edge)\n",
        problems.join("\n\n")
    );
}

#[test]
fn functions_are_at_most_80_lines() {
    let mut long = Vec::new();
    for f in sources() {
        let t: Vec<&str> = f.toks.iter().map(|t| t.1.as_str()).collect();
        for i in (0..t.len()).filter(|&i| t[i] == "fn" && t.get(i + 1).is_some_and(|n| is_ident(n)))
        {
            // The body is the first `{` outside (..) and [..]; a `;` first means no body.
            let mut depth = 0i64;
            let body = t.iter().enumerate().skip(i + 2).find_map(|(j, &tok)| {
                match tok {
                    "(" | "[" => depth += 1,
                    ")" | "]" => depth -= 1,
                    ";" if depth <= 0 => return Some(None),
                    "{" if depth <= 0 => return Some(Some(j)),
                    _ => {}
                }
                None
            });
            let Some(close) = body.flatten().and_then(|b| matching(&t, b)) else {
                continue;
            };
            let (first, name) = (f.line(f.toks[i].0), t[i + 1]);
            let lines = f.line(f.toks[close].0) + 1 - first;
            if lines > MAX_FN_LINES {
                long.push(format!("{}:{first} fn {name}: {lines} lines", f.rel));
            }
        }
    }
    assert!(
        long.is_empty(),
        "\n{} function(s) longer than {MAX_FN_LINES} lines; split them into named steps:\n  {}\n",
        long.len(),
        long.join("\n  ")
    );
}

#[test]
fn action_names_are_spelled_only_in_the_registry_and_tag_codecs() {
    let names = action_names();
    let mut found = Vec::new();
    for f in sources() {
        for (at, s) in &f.strings {
            let listed = ACTION_NAME_FILES.iter().any(|dir| f.rel.starts_with(dir));
            let allowed = listed || f.in_test(*at);
            if !allowed && names.contains(&s.as_str()) {
                found.push(format!("{}:{} \"{s}\"", f.rel, f.line(*at)));
            }
        }
    }
    assert!(
        found.is_empty(),
        "\n{} action name literal(s) outside {ACTION_NAME_FILES:?}; take the name from \
         `ActionKind::name()` instead:\n  {}\n",
        found.len(),
        found.join("\n  ")
    );
}

#[test]
fn no_module_imports_from_a_floor_above_its_own() {
    let files = sources();
    let mut problems = Vec::new();
    for f in files.iter().filter(|f| !f.module.is_empty()) {
        if floor_of(&f.module).is_none() {
            problems.push(format!(
                "{} (module `{}`) is on no floor: add it to FLOORS here and to ARCHITECTURE.md",
                f.rel, f.module
            ));
        }
    }
    let Imports { sites, .. } = imports(&files);
    for ((from, to), site) in &sites {
        let (Some((a, a_name)), Some((b, b_name))) = (floor_of(from), floor_of(to)) else {
            continue;
        };
        if b > a {
            problems.push(format!(
                "{site}: `{from}` ({a_name}) imports `{to}` ({b_name}), a floor above its own"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "\n{} problem(s) with the floors (move what the lower module needs down, or the module \
         up):\n  {}\n",
        problems.len(),
        problems.join("\n  ")
    );
}

#[test]
fn files_are_at_most_500_lines_outside_their_tests() {
    let mut long = Vec::new();
    for f in sources() {
        let total = f.newlines.len() + 1;
        let tests: usize = (f.tests.iter())
            .map(|&(a, b)| match b {
                usize::MAX => total,
                _ => f.line(b) + 1 - f.line(a),
            })
            .sum();
        let lines = total.saturating_sub(tests);
        if lines > MAX_FILE_LINES {
            long.push(format!("{}: {lines} lines", f.rel));
        }
    }
    assert!(
        long.is_empty(),
        "\n{} file(s) over {MAX_FILE_LINES} lines outside #[cfg(test)]; split each along its \
         seams:\n  {}\n",
        long.len(),
        long.join("\n  ")
    );
}
