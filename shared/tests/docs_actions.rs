//! `docs/actions.md`'s IAM table is generated from the action registry
//! (`firebreak::actions::registry::REGISTRY`): the section between `<!-- registry:begin -->` and
//! `<!-- registry:end -->` must be exactly the table rendered here, one row per action kind, so the
//! documented permissions never drift from the ones the template is checked against.
//! `FIREBREAK_BLESS=1 cargo test -p firebreak --test docs_actions` rewrites the section instead.

use std::fmt::Write as _;
use std::path::PathBuf;

use firebreak::actions::registry::REGISTRY;
use firebreak::actions::spec::ActionSpec;

const BEGIN: &str = "<!-- registry:begin -->";
const END: &str = "<!-- registry:end -->";

fn doc_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/actions.md")
}

/// `a`, `b` as code spans, comma-separated; a dash when there are none.
fn code_list(items: &[&str]) -> String {
    if items.is_empty() {
        return "—".to_string();
    }
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn row(spec: &ActionSpec) -> String {
    format!(
        "| `{}` | {} | {} | {} | {} |",
        spec.kind.name(),
        if spec.kind.is_containment() {
            "yes"
        } else {
            "no"
        },
        code_list(spec.permissions),
        code_list(spec.undo_permissions),
        code_list(spec.tags),
    )
}

/// The table, one row per registry entry in registry order, ending with a newline.
fn rendered() -> String {
    let mut table = String::from(
        "| action | contains? | IAM actions | undo's IAM actions | tags written |\n\
         |---|---|---|---|---|\n",
    );
    for spec in REGISTRY {
        writeln!(table, "{}", row(spec)).unwrap();
    }
    table
}

/// The byte range of the text between the markers.
fn section(doc: &str) -> std::ops::Range<usize> {
    let begin = doc
        .find(BEGIN)
        .unwrap_or_else(|| panic!("docs/actions.md has no {BEGIN} marker"));
    let start = begin + BEGIN.len();
    let end = doc[start..]
        .find(END)
        .map(|i| start + i)
        .unwrap_or_else(|| panic!("docs/actions.md has no {END} marker after {BEGIN}"));
    start..end
}

#[test]
fn the_actions_doc_lists_the_registry() {
    let path = doc_path();
    let doc = std::fs::read_to_string(&path).expect("docs/actions.md at the repository root");
    let range = section(&doc);
    let expected = format!("\n{}", rendered());
    if doc[range.clone()] == expected {
        return;
    }
    if std::env::var("FIREBREAK_BLESS").as_deref() == Ok("1") {
        let mut blessed = doc.clone();
        blessed.replace_range(range, &expected);
        std::fs::write(&path, blessed).expect("docs/actions.md written");
        return;
    }
    panic!(
        "docs/actions.md's registry table differs from the registry. Expected, between \
         {BEGIN} and {END}:\n{expected}\n(FIREBREAK_BLESS=1 cargo test -p firebreak --test \
         docs_actions rewrites it)"
    );
}
