//! ServiceNow's Table API, the `incident` table (basic auth: a user and password). A finding's
//! incident carries `correlation_id = firebreak-<hash>` (`ports::ticket_id`), the one value the
//! encoded query names: a finding id, which may hold `^` or `=`, is never put in a query. Found:
//! a work note (an update), or a work note and state 6, Resolved, with a resolution code and
//! notes (a release); not found: created. Every text is a JSON string; ServiceNow shows journal
//! text as text except between `[code]` tags, which are defused in finding text.

use ::http::Method;
use serde_json::{json, Value};

use super::ctx::{one_line, Ctx};
use super::http::{basic, query_value, Failure};
use crate::ports::{ticket_id, Ticket, TicketDone, TicketEvent, TicketRequest};

/// The `incident` table's `state` values Firebreak reads and writes.
const RESOLVED: &str = "6";
const CLOSED: &str = "7";

/// A found incident: its `sys_id`, number and state.
struct Found {
    sys_id: String,
    number: String,
    state: String,
}

/// One try: found and noted (and resolved), or created.
pub async fn ticket(ctx: &Ctx<'_>, r: &TicketRequest) -> Result<Option<Ticket>, Failure> {
    let id = ticket_id(&r.finding_id);
    let auth = basic(ctx.credential("user")?, ctx.credential("password")?);
    let found = search(ctx, &auth, &id, r).await?;
    let text = defused(&r.text);
    let (found, done) = match (found, r.event) {
        (None, TicketEvent::Resolve) => return Ok(None),
        (None, TicketEvent::Raise) => {
            let number = create(ctx, &auth, &id, r, &text).await?;
            return Ok(Some(keyed(number, TicketDone::Opened)));
        }
        (Some(f), TicketEvent::Raise) => {
            patch(ctx, &auth, &f, json!({ "work_notes": text }), r).await?;
            (f, TicketDone::Commented)
        }
        (Some(f), TicketEvent::Resolve) if f.state == RESOLVED || f.state == CLOSED => {
            patch(ctx, &auth, &f, json!({ "work_notes": text }), r).await?;
            (f, TicketDone::Resolved)
        }
        (Some(f), TicketEvent::Resolve) => {
            let body = json!({
                "state": RESOLVED,
                "close_code": ctx.settings.close_code,
                "close_notes": text,
                "work_notes": text,
            });
            patch(ctx, &auth, &f, body, r).await?;
            (f, TicketDone::Resolved)
        }
    };
    Ok(Some(keyed(found.number, done)))
}

fn keyed(number: String, done: TicketDone) -> Ticket {
    Ticket {
        system: "servicenow",
        key: number,
        done,
    }
}

/// `GET /api/now/table/incident?sysparm_query=correlation_id=<id>`.
async fn search(
    ctx: &Ctx<'_>,
    auth: &str,
    id: &str,
    r: &TicketRequest,
) -> Result<Option<Found>, Failure> {
    let path = format!(
        "/api/now/table/incident?sysparm_query={}&sysparm_fields=sys_id,number,state&sysparm_limit=1",
        query_value(&format!("correlation_id={id}^ORDERBYsys_created_on"))
    );
    let answer = ctx.call(auth, Method::GET, &path, None, r).await?;
    let got = answer.ok("servicenow search")?.json("servicenow search")?;
    let Some(row) = got["result"].as_array().and_then(|rows| rows.first()) else {
        return Ok(None);
    };
    Ok(Some(Found {
        sys_id: sys_id(row["sys_id"].as_str().unwrap_or_default())?,
        number: number(row["number"].as_str().unwrap_or_default()),
        state: row["state"].as_str().unwrap_or_default().to_string(),
    }))
}

/// `POST /api/now/table/incident`; its number.
async fn create(
    ctx: &Ctx<'_>,
    auth: &str,
    id: &str,
    r: &TicketRequest,
    text: &str,
) -> Result<String, Failure> {
    // Impact and urgency 1 (high) to 3 (low), from GuardDuty's severity bands.
    let level = match r.severity {
        s if s >= 7.0 => "1",
        s if s >= 4.0 => "2",
        _ => "3",
    };
    let body = json!({
        "short_description": defused(&one_line(&r.summary, 160)),
        "description": text,
        "correlation_id": id,
        "correlation_display": "Firebreak",
        "impact": level,
        "urgency": level,
    });
    let answer = ctx
        .call(auth, Method::POST, "/api/now/table/incident", Some(body), r)
        .await?;
    let created = answer.ok("servicenow create")?.json("servicenow create")?;
    sys_id(created["result"]["sys_id"].as_str().unwrap_or_default())?;
    Ok(number(
        created["result"]["number"].as_str().unwrap_or_default(),
    ))
}

/// `PATCH /api/now/table/incident/{sys_id}`.
async fn patch(
    ctx: &Ctx<'_>,
    auth: &str,
    found: &Found,
    body: Value,
    r: &TicketRequest,
) -> Result<(), Failure> {
    let path = format!("/api/now/table/incident/{}", found.sys_id);
    let answer = ctx.call(auth, Method::PATCH, &path, Some(body), r).await?;
    answer.ok("servicenow update").map(|_| ())
}

/// A `sys_id` (32 hex digits), checked before it goes into a URL path.
fn sys_id(id: &str) -> Result<String, Failure> {
    match id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()) {
        true => Ok(id.to_string()),
        false => Err(Failure::fatal(format!("servicenow: not a sys_id: {id:?}"))),
    }
}

/// An incident number as shown (letters and digits only).
fn number(n: &str) -> String {
    let n: String = n
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(40)
        .collect();
    if n.is_empty() {
        "(no number)".into()
    } else {
        n
    }
}

/// `text` with every `[code]` and `[/code]` tag (any case) broken, so ServiceNow shows a
/// journal's or description's finding text as text, never as HTML.
pub fn defused(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        let rest = &text.as_bytes()[i..];
        let tag = |t: &[u8]| rest.len() >= t.len() && rest[..t.len()].eq_ignore_ascii_case(t);
        out.push(c);
        if c == '[' && (tag(b"[code]") || tag(b"[/code]")) {
            out.push(' ');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_tags_are_defused_and_ids_checked() {
        assert_eq!(
            defused("a [CODE]<img src=x onerror=alert(1)>[/code] b [c]"),
            "a [ CODE]<img src=x onerror=alert(1)>[ /code] b [c]"
        );
        assert!(sys_id("0123456789abcdef0123456789abcdef").is_ok());
        assert!(sys_id("../x").is_err());
        assert_eq!(number("INC0010001"), "INC0010001");
        assert_eq!(number("INC<1>"), "INC1");
    }
}
