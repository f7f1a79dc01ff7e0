//! Markdown to safe HTML, as TensorBoard's text plugin renders it: raw HTML escaped, never run.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag};

/// Link and image schemes kept as they are; any other scheme (`javascript:`, `data:`, ...) is
/// replaced by an empty destination. These are the protocols TensorBoard's sanitizer allows.
const SAFE_SCHEMES: [&str; 3] = ["http", "https", "mailto"];

/// Renders `markdown` (CommonMark with tables) to HTML in which every piece of raw HTML the
/// source contained is shown as text: `<script>` becomes `&lt;script&gt;`. Link and image
/// destinations with a scheme other than http, https or mailto are dropped. The trailing line
/// break is trimmed, as in TensorBoard's output.
pub fn to_safe_html(markdown: &str) -> String {
    let parser = Parser::new_ext(markdown, Options::ENABLE_TABLES).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Image {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        other => other,
    });
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, parser);
    let trimmed = html.trim_end_matches('\n').len();
    html.truncate(trimmed);
    html
}

/// Several Markdown strings (a rank-1 text tensor) as TensorBoard shows them: one table row
/// each. A single string is rendered on its own, as TensorBoard renders a rank-0 tensor.
pub fn strings_to_safe_html(strings: &[String]) -> String {
    match strings {
        [one] => to_safe_html(one),
        many => {
            let mut html = String::from("<table>\n<tbody>\n");
            for s in many {
                html.push_str("<tr>\n<td>");
                html.push_str(&to_safe_html(s));
                html.push_str("</td>\n</tr>\n");
            }
            html.push_str("</tbody>\n</table>");
            html
        }
    }
}

fn safe_url(url: CowStr<'_>) -> CowStr<'_> {
    // A scheme is what precedes the first ':' when no '/', '?' or '#' comes before it.
    let scheme_end = url.find([':', '/', '?', '#']);
    match scheme_end {
        Some(i) if url[i..].starts_with(':') => {
            let scheme = url[..i].trim().to_ascii_lowercase();
            if SAFE_SCHEMES.contains(&scheme.as_str()) {
                url
            } else {
                CowStr::Borrowed("")
            }
        }
        _ => url,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_html_is_escaped_and_markdown_rendered() {
        let html = to_safe_html("hello **bold** <script>alert(1)</script>");
        assert_eq!(
            html,
            "<p>hello <strong>bold</strong> &lt;script&gt;alert(1)&lt;/script&gt;</p>"
        );
    }

    #[test]
    fn html_blocks_are_escaped_too() {
        let html = to_safe_html("# Notes\n\n<script>alert('xss')</script>\n");
        assert!(html.starts_with("<h1>Notes</h1>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("<script"), "{html}");
    }

    #[test]
    fn tables_are_rendered() {
        let html = to_safe_html("| a | b |\n|---|---|\n| 1 | 2 |");
        assert!(
            html.contains("<table>") && html.contains("<td>1</td>"),
            "{html}"
        );
    }

    #[test]
    fn dangerous_link_schemes_are_dropped() {
        let html =
            to_safe_html("[x](javascript:alert(1)) [y](https://example.invalid/a) [z](rel/path)");
        assert!(!html.contains("javascript"), "{html}");
        assert!(
            html.contains(r#"href="https://example.invalid/a""#),
            "{html}"
        );
        assert!(html.contains(r#"href="rel/path""#), "{html}");
        let img = to_safe_html("![a](JavaScript:alert(1))");
        assert!(!img.to_lowercase().contains("javascript"), "{img}");
    }

    #[test]
    fn several_strings_become_a_table() {
        let html = strings_to_safe_html(&["a".into(), "**b**".into()]);
        assert_eq!(
            html,
            "<table>\n<tbody>\n<tr>\n<td><p>a</p></td>\n</tr>\n<tr>\n<td><p><strong>b</strong></p></td>\n</tr>\n</tbody>\n</table>"
        );
    }
}
