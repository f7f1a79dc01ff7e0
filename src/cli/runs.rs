//! `runboard runs`: the run table in a terminal, and the run edits, through a server's API
//! (the server owns the database: edits go where the dashboard's go, through its guard).

use std::io::Write;

use anyhow::{Context, bail};
use serde_json::{Value as Json, json};

/// `runboard runs` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct RunsArgs {
    /// What to do (default: list).
    #[command(subcommand)]
    action: Option<Action>,
    /// The server's base URL.
    #[arg(
        long,
        global = true,
        env = "RUNBOARD_URL",
        default_value = "http://127.0.0.1:6006"
    )]
    url: String,
    /// The server's token, if it has one.
    #[arg(long, global = true, env = "RUNBOARD_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

#[derive(Debug, Clone, clap::Subcommand)]
enum Action {
    /// List runs: status, name, start, duration, host, commit and each metric's best (or last)
    /// value.
    List {
        /// Only runs this expression matches, e.g. `lr < 0.01 and status = finished and tags
        /// has "baseline"` (fields: config keys, metric tags and TAG.best/last/min/max/count,
        /// status, name, host, tags, duration; operators = != < <= > >= ~ has; and, or, not).
        #[arg(long, short)]
        filter: Option<String>,
        /// Archived runs too.
        #[arg(long)]
        archived: bool,
        /// Print the server's JSON (`/api/v1/run_table`) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Add tags to a run (or remove them with --remove).
    Tag {
        /// The run's name.
        run: String,
        /// The tags.
        #[arg(required = true)]
        tags: Vec<String>,
        /// Remove these tags instead.
        #[arg(long)]
        remove: bool,
    },
    /// Hide a run from the lists (restorable with --restore).
    Archive {
        /// The run's name.
        run: String,
        /// Show it again.
        #[arg(long)]
        restore: bool,
    },
    /// Give a run a display name ("" clears it).
    Rename {
        /// The run's name.
        run: String,
        /// The name to show.
        display_name: String,
    },
    /// Set a run's notes (Markdown).
    Note {
        /// The run's name.
        run: String,
        /// The notes.
        notes: String,
    },
    /// Delete a run's stored data (its event files are never touched).
    Delete {
        /// The run's name.
        run: String,
    },
}

/// A client of one server.
struct Client {
    agent: ureq::Agent,
    url: String,
    token: Option<String>,
}

impl Client {
    fn url(&self, path: &str, query: &[(&str, &str)]) -> String {
        let mut url = format!("{}{path}", self.url.trim_end_matches('/'));
        if !query.is_empty() {
            url.push('?');
            url.push_str(&serde_urlencoded::to_string(query).unwrap_or_default());
        }
        url
    }

    /// Sends a request and returns the JSON answer, or the server's error message.
    fn send(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Json>,
    ) -> anyhow::Result<Json> {
        let url = self.url(path, query);
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(&url)
            .header("Content-Type", "application/json");
        if let Some(t) = &self.token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let req = req.body(body).context("building the request")?;
        let mut res = self
            .agent
            .run(req)
            .with_context(|| format!("cannot reach the server at {}", self.url))?;
        let status = res.status();
        let text = res
            .body_mut()
            .read_to_string()
            .with_context(|| format!("reading the answer of {url}"))?;
        let json: Json = serde_json::from_str(&text).unwrap_or(Json::Null);
        if !status.is_success() {
            let message = json["message"].as_str().unwrap_or(text.as_str());
            bail!("{method} {path}: {} {message}", status.as_u16());
        }
        Ok(json)
    }
}

/// Runs `runboard runs`.
pub fn command(args: RunsArgs) -> anyhow::Result<()> {
    let client = Client {
        agent: runboard_sdk::remote::agent(),
        url: args.url,
        token: args.token.filter(|t| !t.is_empty()),
    };
    let action = args.action.unwrap_or(Action::List {
        filter: None,
        archived: false,
        json: false,
    });
    let edit = |run: &str, body: Json| -> anyhow::Result<Json> {
        client.send("PATCH", "/api/v1/run", &[("run", run)], Some(body))
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match action {
        Action::List {
            filter,
            archived,
            json,
        } => {
            let mut query = Vec::new();
            if let Some(f) = &filter {
                query.push(("filter", f.as_str()));
            }
            if archived {
                query.push(("archived", "true"));
            }
            let table = client.send("GET", "/api/v1/run_table", &query, None)?;
            if json {
                serde_json::to_writer_pretty(&mut out, &table)?;
                writeln!(out)?;
            } else {
                print_table(&mut out, &table)?;
            }
        }
        Action::Tag { run, tags, remove } => {
            let current = client.send("GET", "/api/v1/run", &[("run", &run)], None)?;
            let mut now: Vec<String> = current["tags"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect();
            if remove {
                now.retain(|t| !tags.contains(t));
            } else {
                now.extend(tags);
            }
            let run_out = edit(&run, json!({ "tags": now }))?;
            writeln!(out, "{run}: tags {}", run_out["tags"])?;
        }
        Action::Archive { run, restore } => {
            edit(&run, json!({ "archived": !restore }))?;
            let what = if restore { "restored" } else { "archived" };
            writeln!(out, "{run}: {what}")?;
        }
        Action::Rename { run, display_name } => {
            let name = (!display_name.is_empty()).then_some(display_name);
            edit(&run, json!({ "display_name": name }))?;
            writeln!(out, "{run}: renamed")?;
        }
        Action::Note { run, notes } => {
            edit(&run, json!({ "notes": notes }))?;
            writeln!(out, "{run}: notes set")?;
        }
        Action::Delete { run } => {
            client.send("DELETE", "/api/v1/run", &[("run", &run)], None)?;
            writeln!(out, "{run}: deleted (its event files are untouched)")?;
        }
    }
    Ok(())
}

/// A value as a table cell: numbers with 6 significant digits, text as is.
fn cell(v: &Json) -> String {
    match v {
        Json::Null => "-".into(),
        Json::Number(n) => match n.as_f64() {
            Some(f) if f.fract() != 0.0 || f.abs() >= 1e6 => format!("{f:.6}")
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_owned(),
            _ => n.to_string(),
        },
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Seconds as `1h02m`, `3m05s`, `12s`.
fn duration(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s / 60 % 60),
    }
}

fn print_table(out: &mut impl Write, table: &Json) -> std::io::Result<()> {
    let runs = table["runs"].as_array().map_or(&[][..], Vec::as_slice);
    let tags: Vec<&str> = table["metric_tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Json::as_str)
        .collect();
    let mut header = vec![
        "STATUS".to_owned(),
        "RUN".to_owned(),
        "DURATION".to_owned(),
        "HOST".to_owned(),
        "COMMIT".to_owned(),
        "TAGS".to_owned(),
    ];
    header.extend(tags.iter().map(|t| t.to_string()));
    let mut rows = vec![header];
    for r in runs {
        let name = match r["display_name"].as_str() {
            Some(d) => format!("{d} ({})", cell(&r["name"])),
            None => cell(&r["name"]),
        };
        let commit = match r["commit"].as_str() {
            Some(c) => {
                let dirty = if r["dirty"] == true { "*" } else { "" };
                format!("{}{dirty}", &c[..c.len().min(7)])
            }
            None => "-".into(),
        };
        let user_tags: Vec<&str> = r["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Json::as_str)
            .collect();
        let mut row = vec![
            cell(&r["status"]["state"]),
            name,
            duration(
                r["updated_at"].as_f64().unwrap_or(0.0) - r["started_at"].as_f64().unwrap_or(0.0),
            ),
            cell(&r["host"]),
            commit,
            if user_tags.is_empty() {
                "-".into()
            } else {
                user_tags.join(",")
            },
        ];
        for t in &tags {
            let m = &r["metrics"][*t];
            row.push(if m["best"].is_null() {
                cell(&m["last"])
            } else {
                cell(&m["best"])
            });
        }
        rows.push(row);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        writeln!(out, "{}", line.join("  ").trim_end())?;
    }
    writeln!(
        out,
        "{} run{} (metric columns: the best value where the goal is known, else the last)",
        runs.len(),
        if runs.len() == 1 { "" } else { "s" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_cells_read_well() {
        assert_eq!(duration(5.2), "5s");
        assert_eq!(duration(185.0), "3m05s");
        assert_eq!(duration(3720.0), "1h02m");
        assert_eq!(cell(&json!(0.123456789)), "0.123457");
        assert_eq!(cell(&json!(3)), "3");
        assert_eq!(cell(&json!(2.5)), "2.5");
        assert_eq!(cell(&Json::Null), "-");
    }
}
