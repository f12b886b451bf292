//! The self-contained HTML status page: inline CSS, no JavaScript, readable
//! on a phone.

use super::{ComponentStatus, Summary};
use std::fmt::Write as _;

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn class(s: ComponentStatus) -> &'static str {
    match s {
        ComponentStatus::Operational => "ok",
        ComponentStatus::DegradedPerformance => "degraded",
        ComponentStatus::PartialOutage => "partial",
        ComponentStatus::MajorOutage => "major",
        ComponentStatus::UnderMaintenance => "maint",
        ComponentStatus::Unknown => "unknown",
    }
}

/// Render the summary as a complete HTML document. `refresh_secs`, when
/// set, adds a `<meta http-equiv="refresh">` so a browser re-reads the page
/// without any script.
pub fn render_html(summary: &Summary, refresh_secs: Option<u32>) -> String {
    let mut h = String::with_capacity(8 * 1024);
    let banner = if summary.stale {
        "stale"
    } else {
        match summary.status.indicator {
            "none" => "ok",
            "minor" => "degraded",
            "maintenance" => "maint",
            "critical" => "major",
            _ => "partial",
        }
    };
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    );
    if let Some(secs) = refresh_secs {
        let _ = writeln!(h, "<meta http-equiv=\"refresh\" content=\"{secs}\">");
    }
    let _ = write!(
        h,
        "<title>{title} status</title>\n<style>\n\
         body{{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;padding:1rem;\
         background:#f6f7f9;color:#1d2330;max-width:48rem;margin-inline:auto}}\n\
         h1{{font-size:1.4rem}}\n\
         .banner{{padding:1rem;border-radius:.5rem;color:#fff;font-weight:600;margin-bottom:1rem}}\n\
         .banner.ok{{background:#2f9e44}}.banner.degraded{{background:#e8a100}}\
         .banner.partial{{background:#e8590c}}.banner.major{{background:#c92a2a}}\
         .banner.maint{{background:#1c7ed6}}.banner.stale{{background:#495057}}\n\
         ul.components{{list-style:none;padding:0;margin:0;background:#fff;border-radius:.5rem;\
         border:1px solid #dee2e6}}\n\
         ul.components>li{{padding:.8rem 1rem;border-top:1px solid #dee2e6}}\n\
         ul.components>li:first-child{{border-top:0}}\n\
         .row{{display:flex;justify-content:space-between;gap:1rem;flex-wrap:wrap}}\n\
         .name{{font-weight:600}}.desc{{color:#5c6370;font-size:.9rem}}\n\
         .status{{font-weight:600}}.status.ok{{color:#2f9e44}}.status.degraded{{color:#b27b00}}\
         .status.partial{{color:#e8590c}}.status.major{{color:#c92a2a}}\
         .status.maint{{color:#1c7ed6}}.status.unknown{{color:#495057}}\n\
         .problems{{margin:.4rem 0 0 0;padding-left:1.2rem;font-size:.9rem;color:#5c6370}}\n\
         .notice{{padding:.6rem 1rem;border-radius:.5rem;background:#fff3bf;color:#5c3c00;\
         margin-bottom:1rem}}\n\
         footer{{margin-top:1rem;font-size:.85rem;color:#5c6370}}\n\
         </style>\n</head>\n<body>\n<h1>{title}</h1>\n\
         <div class=\"banner {banner}\" id=\"overall\">{desc}</div>\n<ul class=\"components\">\n",
        title = esc(&summary.page.name),
        desc = esc(&summary.status.description),
    );
    if let Some(notice) = summary.refresh.as_ref().and_then(|r| r.notice.as_deref()) {
        let _ = writeln!(
            h,
            "<div class=\"notice\" id=\"refresh\" role=\"status\">{}</div>",
            esc(notice)
        );
    }
    for c in &summary.components {
        let _ = write!(
            h,
            "<li class=\"component\" id=\"component-{id}\" data-status=\"{st}\">\
             <div class=\"row\"><span class=\"name\">{name}</span>\
             <span class=\"status {cls}\">{label}{ident}</span></div>",
            id = esc(&c.id),
            st = class(c.status),
            name = esc(&c.name),
            cls = class(c.status),
            label = esc(c.status.label()),
            ident = if c.identified && !summary.stale {
                " — identified"
            } else {
                ""
            },
        );
        if let Some(d) = &c.description {
            let _ = write!(h, "<div class=\"desc\">{}</div>", esc(d));
        }
        if !summary.stale && (!c.problems.is_empty() || !c.in_maintenance.is_empty()) {
            h.push_str("<ul class=\"problems\">");
            for p in &c.problems {
                let _ = write!(
                    h,
                    "<li>{} — {}{}{}</li>",
                    esc(&p.member),
                    esc(p.severity),
                    if p.acknowledged { " (identified)" } else { "" },
                    p.reason
                        .as_deref()
                        .map(|r| format!(": {}", esc(r)))
                        .unwrap_or_default(),
                );
            }
            for m in &c.in_maintenance {
                let _ = write!(h, "<li>{} — scheduled maintenance</li>", esc(m));
            }
            h.push_str("</ul>");
        }
        h.push_str("</li>\n");
    }
    let as_of = summary.data_as_of.as_deref().unwrap_or("unknown");
    let _ = write!(
        h,
        "</ul>\n<footer>Monitoring data as of {} · page generated {}</footer>\n</body>\n</html>\n",
        esc(as_of),
        esc(&summary.page.updated_at)
    );
    h
}
