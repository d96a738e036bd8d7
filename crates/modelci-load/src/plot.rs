//! The latency-percentile plot (SVG): latency against percentile on HdrHistogram's usual
//! "1 in N" scale (50%, 90%, 99%, 99.9%, ...), so that the tail the thresholds judge is as
//! wide as the middle. Written by hand: a polyline, axes and labels are a page of SVG, which
//! does not warrant a plotting library and its fonts.

use std::fmt::Write as _;

use crate::stats::Recorder;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 420.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;

/// The x position of percentile `q` (0 to 1): log10(1 / (1 − q)), capped at 99.999%.
fn x_of(q: f64) -> f64 {
    let q = q.clamp(0.0, 0.99999);
    (1.0 / (1.0 - q)).log10()
}

/// A round upper bound for the y axis (1, 2 or 5 times a power of ten).
fn nice_max(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|m| *m >= v)
        .unwrap_or(10.0 * p)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The plot of each labelled recorder's latency (one line each: the open model's latency from
/// the intended start, and the service time from the send, for instance).
pub fn latency_svg(title: &str, lines: &[(&str, &Recorder, bool)]) -> String {
    let mut points: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for (label, rec, service) in lines {
        let h = if *service { &rec.service } else { &rec.latency };
        if h.is_empty() {
            continue;
        }
        let pts = h
            .iter_quantiles(5)
            .map(|v| {
                (
                    x_of(v.quantile_iterated_to()),
                    v.value_iterated_to() as f64 / 1000.0,
                )
            })
            .collect();
        points.push(((*label).to_owned(), pts));
    }
    let max_x = points
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(x, _)| *x))
        .fold(2.0_f64, f64::max)
        .ceil();
    let max_y = nice_max(
        points
            .iter()
            .flat_map(|(_, p)| p.iter().map(|(_, y)| *y))
            .fold(0.0, f64::max),
    );
    let (pw, ph) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    let sx = |x: f64| LEFT + x / max_x * pw;
    let sy = |y: f64| TOP + ph - y / max_y * ph;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{LEFT}" y="22" font-size="14">{}</text>"#,
        escape(title)
    );
    // Grid and axis labels.
    for i in 0..=5 {
        let y = max_y * f64::from(i) / 5.0;
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}" stroke="#ddd"/><text x="{2:.1}" y="{3:.1}" text-anchor="end">{4}</text>"##,
            sy(y),
            WIDTH - RIGHT,
            LEFT - 6.0,
            sy(y) + 4.0,
            trim(y)
        );
    }
    let labels = ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"];
    for (i, label) in labels.iter().enumerate() {
        let x = i as f64;
        if x > max_x {
            break;
        }
        let _ = writeln!(
            svg,
            r##"<line x1="{0:.1}" y1="{TOP}" x2="{0:.1}" y2="{1:.1}" stroke="#eee"/><text x="{0:.1}" y="{2:.1}" text-anchor="middle">{label}</text>"##,
            sx(x),
            TOP + ph,
            TOP + ph + 18.0
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">percentile</text>"#,
        LEFT + pw / 2.0,
        HEIGHT - 8.0
    );
    let _ = writeln!(
        svg,
        r#"<text transform="translate(16 {:.1}) rotate(-90)" text-anchor="middle">latency (ms)</text>"#,
        TOP + ph / 2.0
    );
    let colours = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd"];
    for (i, (label, pts)) in points.iter().enumerate() {
        let colour = colours[i % colours.len()];
        let path: Vec<String> = pts
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", sx(*x), sy(*y)))
            .collect();
        let _ = writeln!(
            svg,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#,
            path.join(" ")
        );
        let ly = TOP + 16.0 + 16.0 * i as f64;
        let _ = writeln!(
            svg,
            r#"<line x1="{0:.1}" y1="{1:.1}" x2="{2:.1}" y2="{1:.1}" stroke="{colour}" stroke-width="2"/><text x="{3:.1}" y="{4:.1}">{5}</text>"#,
            LEFT + 12.0,
            ly,
            LEFT + 36.0,
            LEFT + 42.0,
            ly + 4.0,
            escape(label)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn trim(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Sample;
    use std::time::Duration;

    #[test]
    fn the_plot_is_svg_with_one_line_per_recorder() {
        let mut r = Recorder::default();
        for ms in 1..=1000u64 {
            r.success(&Sample {
                latency: Duration::from_millis(ms),
                service: Duration::from_millis(ms / 2 + 1),
                first_byte: None,
                bytes: 0,
                tokens: None,
            });
        }
        let svg = latency_svg(
            "GET / at 100 req/s <open>",
            &[("latency", &r, false), ("service", &r, true)],
        );
        assert!(svg.starts_with("<svg xmlns="), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("GET / at 100 req/s &lt;open&gt;"));
        assert!(svg.contains(">99.9%<"));
        // The y axis reaches the largest latency (1 s; HdrHistogram's bucket is a little
        // above), rounded up to 1, 2 or 5 times a power of ten.
        assert!(svg.contains(">2000<"), "{svg}");
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(730.0), 1000.0);
        assert_eq!(nice_max(0.12), 0.2);
        // Nothing measured: axes, no line.
        let empty = latency_svg("empty", &[("latency", &Recorder::default(), false)]);
        assert_eq!(empty.matches("<polyline").count(), 0);
    }
}
