//! The self-contained HTML status page: inline CSS, no JavaScript, readable
//! on a phone.

use super::history::{ComponentHistory, DayUptime, History};
use super::{ComponentStatus, Summary};
use std::fmt::Write as _;
use std::time::Duration;

/// Days of bars a phone shows (the newest); a wider screen shows them all.
const PHONE_DAYS: usize = 30;

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
         .history{{margin-top:.6rem}}\n\
         ol.bars{{display:flex;gap:2px;list-style:none;padding:0;margin:0;height:2.2rem}}\n\
         ol.bars>li{{flex:1 1 0;min-width:0;border-radius:2px;background:#2f9e44}}\n\
         ol.bars>li.degraded_performance{{background:#e8a100}}\
         ol.bars>li.partial_outage{{background:#e8590c}}\
         ol.bars>li.major_outage{{background:#c92a2a}}\
         ol.bars>li.under_maintenance{{background:repeating-linear-gradient(45deg,#1c7ed6 0 3px,#a5d8ff 3px 6px)}}\
         ol.bars>li.no_data{{background:#fff;border:1px solid #adb5bd}}\n\
         .axis{{display:flex;justify-content:space-between;font-size:.8rem;color:#5c6370;margin-top:.2rem}}\n\
         .axis .phone{{display:none}}\n\
         .past{{font-size:.9rem;color:#5c6370;margin-top:.3rem}}\n\
         .past ul{{margin:.3rem 0 0 0;padding-left:1.2rem}}\n\
         .legend{{font-size:.85rem;color:#5c6370;margin:0 0 .6rem 0}}.legend>span{{white-space:nowrap}}\n\
         .key{{display:inline-block;width:.8em;height:.8em;border-radius:2px;vertical-align:-.05em;\
         margin:0 .2em 0 .6em;background:#2f9e44}}\
         .key.degraded_performance{{background:#e8a100}}.key.partial_outage{{background:#e8590c}}\
         .key.major_outage{{background:#c92a2a}}\
         .key.under_maintenance{{background:repeating-linear-gradient(45deg,#1c7ed6 0 3px,#a5d8ff 3px 6px)}}\
         .key.no_data{{background:#fff;border:1px solid #adb5bd}}\n\
         .sr{{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}}\n\
         {phone_css}\
         </style>\n</head>\n<body>\n<h1>{title}</h1>\n\
         <div class=\"banner {banner}\" id=\"overall\">{desc}</div>\n",
        title = esc(&summary.page.name),
        desc = esc(&summary.status.description),
        phone_css = phone_css(summary.history.as_ref()),
    );
    if let Some(notice) = summary.refresh.as_ref().and_then(|r| r.notice.as_deref()) {
        let _ = writeln!(
            h,
            "<div class=\"notice\" id=\"refresh\" role=\"status\">{}</div>",
            esc(notice)
        );
    }
    if let Some(history) = &summary.history {
        legend(&mut h, history);
    }
    h.push_str("<ul class=\"components\">\n");
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
        if let Some(history) = &summary.history {
            if let Some(ch) = history.components.iter().find(|ch| ch.id == c.id) {
                bars(&mut h, ch);
            }
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

/// On a narrow screen, only the newest [`PHONE_DAYS`] bars (and the axis label that says so).
fn phone_css(history: Option<&History>) -> String {
    let Some(days) = history.map(|h| h.components.first().map_or(0, |c| c.uptime.len())) else {
        return String::new();
    };
    if days <= PHONE_DAYS {
        return String::new();
    }
    format!(
        "@media (max-width:40rem){{ol.bars>li:nth-child(-n+{}){{display:none}}\
         .axis .wide{{display:none}}.axis .phone{{display:inline}}}}\n",
        days - PHONE_DAYS
    )
}

fn words(status: &str) -> &'static str {
    match status {
        "major_outage" => "major outage",
        "partial_outage" => "partial outage",
        "degraded_performance" => "degraded performance",
        "operational" => "operational",
        "under_maintenance" => "maintenance",
        _ => "no data",
    }
}

fn span(secs: u64) -> String {
    humantime::format_duration(Duration::from_secs(secs)).to_string()
}

/// Two decimals, floored: any down time keeps it below 100%.
fn percent(p: Option<f64>) -> String {
    match p {
        Some(p) if p >= 100.0 => "100%".to_owned(),
        Some(p) => format!("{:.2}%", (p * 100.0).floor() / 100.0),
        None => "no data".to_owned(),
    }
}

/// What one day's bar says, in words: its title (hover) and its hidden text.
fn day_text(d: &DayUptime) -> String {
    let mut t = format!("{}: ", d.date);
    match d.percent {
        Some(_) => {
            let _ = write!(t, "{} uptime", percent(d.percent));
        }
        None => t.push_str(words(d.status)),
    }
    for (secs, what) in [
        (d.major_outage_secs, "major outage"),
        (d.partial_outage_secs, "partial outage"),
        (d.degraded_secs, "degraded"),
        (d.maintenance_secs, "maintenance"),
    ] {
        if secs > 0 {
            let _ = write!(t, "; {what} {}", span(secs));
        }
    }
    t
}

fn legend(h: &mut String, history: &History) {
    let s = &history.sources;
    for why in [&s.recent_log_error, &s.archive_error]
        .into_iter()
        .flatten()
    {
        let _ = writeln!(
            h,
            "<div class=\"notice\" role=\"status\">History incomplete: {}</div>",
            esc(why)
        );
    }
    let _ = writeln!(
        h,
        "<p class=\"legend\">Uptime per day, {from} to {to} (UTC):\
         <span><span class=\"key operational\"></span>operational</span>\
         <span><span class=\"key degraded_performance\"></span>degraded</span>\
         <span><span class=\"key partial_outage\"></span>partial outage</span>\
         <span><span class=\"key major_outage\"></span>major outage</span>\
         <span><span class=\"key under_maintenance\"></span>maintenance</span>\
         <span><span class=\"key no_data\"></span>no data</span></p>",
        from = esc(&history.from),
        to = esc(&history.to),
    );
}

fn bars(h: &mut String, c: &ComponentHistory) {
    let _ = write!(
        h,
        "<div class=\"history\"><ol class=\"bars\" aria-label=\"{name}: uptime per day\">",
        name = esc(&c.name)
    );
    for d in &c.uptime {
        let text = esc(&day_text(d));
        let _ = write!(
            h,
            "<li class=\"{cls}\" title=\"{text}\"><span class=\"sr\">{text}</span></li>",
            cls = esc(d.status),
        );
    }
    let days = c.uptime.len();
    let _ = write!(
        h,
        "</ol><div class=\"axis\"><span class=\"wide\">{days} days ago</span>\
         <span class=\"phone\">{phone} days ago</span>\
         <span>{up} uptime</span><span>today</span></div>",
        phone = days.min(PHONE_DAYS),
        up = percent(c.uptime_percent),
    );
    if c.incidents_total == 0 {
        h.push_str("<div class=\"past\">No incidents in this period.</div>");
    } else {
        let _ = write!(
            h,
            "<details class=\"past\"><summary>{n} incident{s} in this period</summary><ul>",
            n = c.incidents_total,
            s = if c.incidents_total == 1 { "" } else { "s" },
        );
        for i in &c.incidents {
            let _ = write!(
                h,
                "<li>{worst}, {start} to {end} ({dur}){ident}{members}</li>",
                worst = esc(i.worst.label()),
                start = esc(&i.start),
                end = esc(i.end.as_deref().unwrap_or("now")),
                dur = span(i.duration_secs),
                ident = if i.identified_at.is_some() {
                    " — identified"
                } else {
                    ""
                },
                members = if i.members.is_empty() {
                    String::new()
                } else {
                    format!(": {}", esc(&i.members.join(", ")))
                },
            );
        }
        if c.incidents.len() < c.incidents_total {
            let _ = write!(
                h,
                "<li>and {} earlier</li>",
                c.incidents_total - c.incidents.len()
            );
        }
        h.push_str("</ul></details>");
    }
    h.push_str("</div>");
}
