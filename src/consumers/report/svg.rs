//! Small inline SVG charts: bars and lines, no script, no external file.

use std::fmt::Write;

/// Escapes text for HTML and SVG.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const PALETTE: [&str; 6] = [
    "#2f6db5", "#e07b24", "#3a9a5b", "#b03a48", "#7b5ea7", "#8c8c8c",
];

/// Horizontal bars, one per label; `reference` draws a dashed line at that value (e.g. 1.0).
pub fn bars(
    labels: &[String],
    values: &[f64],
    format: fn(f64) -> String,
    reference: Option<f64>,
) -> String {
    let row = 26.0;
    let left = 190.0;
    let width = 460.0;
    let height = row * labels.len() as f64 + 30.0;
    let max = values
        .iter()
        .cloned()
        .chain(reference)
        .fold(0.0_f64, f64::max)
        .max(1e-9);
    let mut s = format!(
        r#"<svg viewBox="0 0 {} {height}" width="100%" role="img">"#,
        left + width + 80.0
    );
    for (i, (l, v)) in labels.iter().zip(values).enumerate() {
        let y = 10.0 + row * i as f64;
        let w = width * v.max(0.0) / max;
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end" font-size="12">{}</text><rect x="{left}" y="{}" width="{w:.1}" height="{}" fill="{}"/><text x="{}" y="{}" font-size="12">{}</text>"#,
            left - 6.0,
            y + 15.0,
            esc(l),
            y + 3.0,
            row - 8.0,
            PALETTE[0],
            left + w + 4.0,
            y + 15.0,
            esc(&format(*v))
        );
    }
    if let Some(r) = reference {
        let x = left + width * r / max;
        let _ = write!(
            s,
            r##"<line x1="{x:.1}" y1="5" x2="{x:.1}" y2="{}" stroke="#b03a48" stroke-dasharray="4 3"/>"##,
            height - 15.0
        );
    }
    s.push_str("</svg>");
    s
}

/// Lines over the same x labels, one per named series, values in 0..=1 shown as percentages.
pub fn lines(x: &[String], series: &[(String, Vec<Option<f64>>)]) -> String {
    let (left, top, width, height) = (50.0, 10.0, 600.0, 220.0);
    let n = x.len().max(2) as f64 - 1.0;
    let px = |i: usize| left + width * i as f64 / n;
    let py = |v: f64| top + height * (1.0 - v.clamp(0.0, 1.0));
    let mut s = format!(
        r#"<svg viewBox="0 0 {} {}" width="100%" role="img">"#,
        left + width + 150.0,
        top + height + 60.0
    );
    for t in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let _ = write!(
            s,
            r##"<line x1="{left}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end" font-size="11">{:.0}%</text>"##,
            left + width,
            left - 4.0,
            py(t) + 4.0,
            t * 100.0,
            y = py(t)
        );
    }
    let step = (x.len() / 10).max(1);
    for (i, l) in x.iter().enumerate().step_by(step) {
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{}" text-anchor="middle" font-size="11">{}</text>"#,
            px(i),
            top + height + 18.0,
            esc(l)
        );
    }
    for (k, (name, values)) in series.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| format!("{:.1},{:.1}", px(i), py(v))))
            .collect();
        let _ = write!(
            s,
            r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#,
            points.join(" ")
        );
        let _ = write!(
            s,
            r#"<rect x="{}" y="{}" width="12" height="12" fill="{color}"/><text x="{}" y="{}" font-size="12">{}</text>"#,
            left + width + 12.0,
            top + 20.0 * k as f64,
            left + width + 30.0,
            top + 20.0 * k as f64 + 11.0,
            esc(name)
        );
    }
    s.push_str("</svg>");
    s
}
