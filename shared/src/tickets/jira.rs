//! Jira Cloud, REST API v3 (basic auth: an Atlassian account's e-mail and an API token). A
//! finding's issue carries the label `firebreak-<hash>` (`ports::ticket_id`), the one thing the
//! JQL search names: the finding id is never put in a query. Found: commented on (an update) or
//! commented on and moved to a status of the `done` category (a release); not found: created.
//! The text goes in Atlassian Document Format as a code block: a JSON structure whose strings are
//! text, so nothing in a finding is read as markup.

use ::http::Method;
use serde_json::{json, Value};

use super::ctx::{one_line, Ctx};
use super::http::{basic, query_value, Failure};
use crate::ports::{ticket_id, Ticket, TicketDone, TicketEvent, TicketRequest};

/// Jira's limit on a text field is 32,767 characters; the text is cut well within it.
const TEXT_LIMIT: usize = 30_000;

/// One try: found and commented on (and resolved), or created.
pub async fn ticket(ctx: &Ctx<'_>, r: &TicketRequest) -> Result<Option<Ticket>, Failure> {
    let id = ticket_id(&r.finding_id);
    let auth = basic(ctx.credential("email")?, ctx.credential("token")?);
    let found = match ctx.opened(&id) {
        Some(key) => Some(key),
        None => search(ctx, &auth, &id, r).await?,
    };
    let done = match (found.as_deref(), r.event) {
        (None, TicketEvent::Resolve) => return Ok(None),
        (None, TicketEvent::Raise) => {
            let key = create(ctx, &auth, &id, r).await?;
            ctx.remember(&id, &key);
            return Ok(Some(keyed(key, TicketDone::Opened)));
        }
        (Some(key), TicketEvent::Raise) => {
            comment(ctx, &auth, key, r).await?;
            TicketDone::Commented
        }
        (Some(key), TicketEvent::Resolve) => {
            comment(ctx, &auth, key, r).await?;
            match resolve(ctx, &auth, key, r).await? {
                true => TicketDone::Resolved,
                false => TicketDone::Commented,
            }
        }
    };
    Ok(found.map(|key| keyed(key, done)))
}

fn keyed(key: String, done: TicketDone) -> Ticket {
    Ticket {
        system: "jira",
        key,
        done,
    }
}

/// The finding's issue in the project, by its label (`GET /rest/api/3/search/jql`, the search
/// that replaced `/rest/api/3/search` in 2025).
async fn search(
    ctx: &Ctx<'_>,
    auth: &str,
    id: &str,
    r: &TicketRequest,
) -> Result<Option<String>, Failure> {
    // Both values are checked: the project key at start-up, the label is hex.
    let jql = format!(
        "project = \"{}\" AND labels = \"{id}\" ORDER BY created ASC",
        ctx.settings.project
    );
    let path = format!(
        "/rest/api/3/search/jql?jql={}&fields=status&maxResults=1",
        query_value(&jql)
    );
    let answer = ctx.call(auth, Method::GET, &path, None, r).await?;
    let found = answer.ok("jira search")?.json("jira search")?;
    let key = (found["issues"].as_array())
        .and_then(|issues| issues.first())
        .and_then(|i| i["key"].as_str());
    key.map(|k| issue_key(k, "jira search")).transpose()
}

/// `POST /rest/api/3/issue`: the issue, labelled, with the text as its description.
async fn create(ctx: &Ctx<'_>, auth: &str, id: &str, r: &TicketRequest) -> Result<String, Failure> {
    let body = json!({
        "fields": {
            "project": { "key": ctx.settings.project },
            "issuetype": { "name": ctx.settings.issue_type },
            "summary": one_line(&r.summary, 254),
            "labels": ["firebreak", id],
            "description": document(&r.text),
        }
    });
    let answer = ctx
        .call(auth, Method::POST, "/rest/api/3/issue", Some(body), r)
        .await?;
    let created = answer.ok("jira create")?.json("jira create")?;
    issue_key(created["key"].as_str().unwrap_or_default(), "jira create")
}

/// `POST /rest/api/3/issue/{key}/comment`.
async fn comment(ctx: &Ctx<'_>, auth: &str, key: &str, r: &TicketRequest) -> Result<(), Failure> {
    let path = format!("/rest/api/3/issue/{key}/comment");
    let body = json!({ "body": document(&r.text) });
    let answer = ctx.call(auth, Method::POST, &path, Some(body), r).await?;
    answer.ok("jira comment").map(|_| ())
}

/// The issue moved by the first transition to a status of the `done` category (`GET`, then
/// `POST /rest/api/3/issue/{key}/transitions`); `false` when it has none (done already, or a
/// workflow without one).
async fn resolve(ctx: &Ctx<'_>, auth: &str, key: &str, r: &TicketRequest) -> Result<bool, Failure> {
    let path = format!("/rest/api/3/issue/{key}/transitions");
    let answer = ctx.call(auth, Method::GET, &path, None, r).await?;
    let listed = answer.ok("jira transitions")?.json("jira transitions")?;
    let done = (listed["transitions"].as_array().into_iter().flatten())
        .find(|t| t["to"]["statusCategory"]["key"] == "done")
        .and_then(|t| t["id"].as_str());
    let Some(transition) = done else {
        return Ok(false);
    };
    let body = json!({ "transition": { "id": transition } });
    let answer = ctx.call(auth, Method::POST, &path, Some(body), r).await?;
    answer.ok("jira transition").map(|_| true)
}

/// The text as an Atlassian Document Format document: one code block.
pub fn document(text: &str) -> Value {
    let text: String = text.chars().take(TEXT_LIMIT).collect();
    let text = if text.trim().is_empty() {
        "(no text)".to_string()
    } else {
        text
    };
    json!({
        "type": "doc",
        "version": 1,
        "content": [{ "type": "codeBlock", "content": [{ "type": "text", "text": text }] }]
    })
}

/// An issue key as Jira gives it (`SEC-12`), checked before it goes into a URL path.
fn issue_key(key: &str, what: &str) -> Result<String, Failure> {
    let ok = key.split_once('-').is_some_and(|(project, n)| {
        project
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_uppercase())
            && project
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            && !n.is_empty()
            && n.chars().all(|c| c.is_ascii_digit())
    });
    match ok {
        true => Ok(key.to_string()),
        false => Err(Failure::fatal(format!("{what}: not an issue key: {key:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_stays_text_in_the_document() {
        let hostile = "*bold* [link|javascript:alert(1)] {code} \"}]} <script>";
        let doc = document(hostile);
        assert_eq!(doc["content"][0]["content"][0]["text"], hostile);
        let back: Value = serde_json::from_str(&doc.to_string()).unwrap();
        assert_eq!(back, doc);
        assert_eq!(
            document("  ")["content"][0]["content"][0]["text"],
            "(no text)"
        );
    }

    #[test]
    fn only_issue_keys_go_into_a_path() {
        assert!(issue_key("SEC-12", "t").is_ok());
        assert!(issue_key("SEC-12/../../x", "t").is_err());
        assert!(issue_key("sec-1", "t").is_err());
        assert!(issue_key("", "t").is_err());
    }
}
