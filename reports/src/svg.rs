//! `timeline.svg`: per-director VRRP state bands, dest changes, request outcomes per client,
//! and fault markers across all rows, on one time axis. Drawn with plotters' SVG backend
//! (text is written as `<text>`, so no font files are needed); every coordinate is an integer
//! computed from nanoseconds, so the bytes depend only on the inputs.

use crate::ReportInput;
use crate::analysis;
use crate::fmt::secs;
use lvs_model::event::{DestChange, Event, VrrpStateName};
use plotters::prelude::*;
use std::collections::BTreeMap;

const WIDTH: i32 = 1200;
const LEFT: i32 = 170;
const RIGHT: i32 = 20;
const TOP: i32 = 50;
const BAND: i32 = 20;
const GAP: i32 = 8;

fn state_color(s: VrrpStateName) -> RGBColor {
    match s {
        VrrpStateName::Master => RGBColor(46, 125, 50),
        VrrpStateName::Backup => RGBColor(21, 101, 192),
        VrrpStateName::Init => RGBColor(158, 158, 158),
        VrrpStateName::Fault => RGBColor(198, 40, 40),
        VrrpStateName::Stop => RGBColor(66, 66, 66),
    }
}

/// Colours for answering servers, in label order.
const SERVER_COLORS: [RGBColor; 6] = [
    RGBColor(0, 137, 123),
    RGBColor(255, 143, 0),
    RGBColor(94, 53, 177),
    RGBColor(0, 131, 143),
    RGBColor(173, 20, 87),
    RGBColor(85, 139, 47),
];
const FAIL: RGBColor = RGBColor(211, 47, 47);
const GRID: RGBColor = RGBColor(224, 224, 224);

enum Row {
    /// VRRP bands of one (node, instance).
    Vrrp(String, String),
    /// Dest changes on one director.
    Dests(String),
    /// Requests of one client.
    Requests(String),
}

/// A "nice" tick step in seconds giving at most about 12 ticks.
fn tick_step(end: u64) -> u64 {
    const STEPS: [u64; 12] = [1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 1800];
    let secs = end.div_ceil(1_000_000_000).max(1);
    STEPS
        .iter()
        .copied()
        .find(|s| secs / s <= 12)
        .unwrap_or(3600)
}

pub fn timeline_svg(input: &ReportInput<'_>) -> String {
    let mut buf = String::new();
    match draw(input, &mut buf) {
        Ok(()) => buf,
        Err(e) => format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"600\" height=\"40\">\
             <text x=\"10\" y=\"25\">timeline could not be drawn: {}</text></svg>\n",
            e.replace('<', "&lt;")
        ),
    }
}

fn draw(input: &ReportInput<'_>, buf: &mut String) -> Result<(), String> {
    let s = input.summary;
    let events = input.events;
    let end = s
        .duration_ns
        .max(events.iter().map(|r| r.t).max().unwrap_or(0))
        .max(1);
    let plot_w = WIDTH - LEFT - RIGHT;
    let x = |t: u64| LEFT + (u128::from(t.min(end)) * plot_w as u128 / u128::from(end)) as i32;

    // Rows: each director's instances, then its dests; then each client.
    let mut rows = Vec::new();
    let mut instances: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut clients: Vec<&str> = Vec::new();
    let mut has_dests: Vec<&str> = Vec::new();
    for r in events {
        match &r.event {
            Event::VrrpState { instance, .. } => {
                let v = instances.entry(&r.node).or_default();
                if !v.contains(&instance.as_str()) {
                    v.push(instance);
                }
            }
            Event::HttpRequest { client, .. } if !clients.contains(&client.as_str()) => {
                clients.push(client)
            }
            Event::IpvsDest { .. } if !has_dests.contains(&r.node.as_str()) => {
                has_dests.push(&r.node)
            }
            _ => {}
        }
    }
    let directors: Vec<&str> = s
        .nodes
        .iter()
        .filter(|n| n.role == "director")
        .map(|n| n.name.as_str())
        .collect();
    for d in &directors {
        for i in instances.get(d).map(Vec::as_slice).unwrap_or(&[]) {
            rows.push(Row::Vrrp(d.to_string(), i.to_string()));
        }
        if has_dests.contains(d) {
            rows.push(Row::Dests(d.to_string()));
        }
    }
    clients.sort();
    for c in &clients {
        rows.push(Row::Requests(c.to_string()));
    }
    let rows_h = rows.len() as i32 * (BAND + GAP);
    let axis_y = TOP + rows_h + 4;
    let height = axis_y + 70;

    let windows = analysis::request_windows(s, events);
    let servers = analysis::servers(&windows);
    let server_color = |label: &str| {
        servers
            .iter()
            .position(|s| s == label)
            .map_or(RGBColor(97, 97, 97), |i| {
                SERVER_COLORS[i % SERVER_COLORS.len()]
            })
    };

    let root = SVGBackend::with_string(buf, (WIDTH as u32, height as u32)).into_drawing_area();
    let e = |e: DrawingAreaErrorKind<_>| e.to_string();
    root.fill(&WHITE).map_err(e)?;
    let font = |size: i32| ("sans-serif", size).into_font().color(&BLACK);
    root.draw(&Text::new(
        format!("{} — seed {}, {}", s.name, s.seed, secs(s.duration_ns)),
        (10, 22),
        font(16),
    ))
    .map_err(e)?;

    // Time grid and axis.
    let step = tick_step(end);
    let mut tick = 0u64;
    while tick * 1_000_000_000 <= end {
        let tx = x(tick * 1_000_000_000);
        root.draw(&PathElement::new(
            vec![(tx, TOP - 4), (tx, axis_y)],
            GRID.stroke_width(1),
        ))
        .map_err(e)?;
        root.draw(&Text::new(
            format!("{tick}s"),
            (tx - 8, axis_y + 6),
            font(11),
        ))
        .map_err(e)?;
        tick += step;
    }

    for (i, row) in rows.iter().enumerate() {
        let y0 = TOP + i as i32 * (BAND + GAP);
        let y1 = y0 + BAND;
        let label = match row {
            Row::Vrrp(n, inst) => format!("{n} {inst}"),
            Row::Dests(n) => format!("{n} dests"),
            Row::Requests(c) => format!("{c} requests"),
        };
        root.draw(&Text::new(label, (10, y0 + 4), font(12)))
            .map_err(e)?;
        match row {
            Row::Vrrp(node, inst) => {
                let mut cur: Option<(u64, VrrpStateName)> = None;
                let mut bands = Vec::new();
                for r in events.iter().filter(|r| r.node == *node) {
                    if let Event::VrrpState { instance, to, .. } = &r.event
                        && instance == inst
                    {
                        if let Some((t0, st)) = cur {
                            bands.push((t0, r.t, st));
                        }
                        cur = Some((r.t, *to));
                    }
                }
                if let Some((t0, st)) = cur {
                    bands.push((t0, end, st));
                }
                for (t0, t1, st) in bands {
                    let (x0, x1) = (x(t0), x(t1).max(x(t0) + 1));
                    root.draw(&Rectangle::new(
                        [(x0, y0), (x1, y1)],
                        state_color(st).filled(),
                    ))
                    .map_err(e)?;
                    if x1 - x0 > 60 {
                        root.draw(&Text::new(
                            st.as_str(),
                            (x0 + 4, y0 + 4),
                            ("sans-serif", 11).into_font().color(&WHITE),
                        ))
                        .map_err(e)?;
                    }
                }
            }
            Row::Dests(node) => {
                root.draw(&PathElement::new(
                    vec![(LEFT, y0 + BAND / 2), (LEFT + plot_w, y0 + BAND / 2)],
                    GRID.stroke_width(1),
                ))
                .map_err(e)?;
                for r in events.iter().filter(|r| r.node == *node) {
                    if let Event::IpvsDest { change, .. } = &r.event {
                        let cx = x(r.t);
                        let (color, pts) = match change {
                            DestChange::Removed => {
                                (FAIL, vec![(cx - 5, y0 + 3), (cx + 5, y0 + 3), (cx, y1 - 3)])
                            }
                            DestChange::Added => (
                                RGBColor(46, 125, 50),
                                vec![(cx - 5, y1 - 3), (cx + 5, y1 - 3), (cx, y0 + 3)],
                            ),
                            DestChange::Weight => (
                                RGBColor(97, 97, 97),
                                vec![
                                    (cx - 4, y0 + BAND / 2),
                                    (cx, y0 + 3),
                                    (cx + 4, y0 + BAND / 2),
                                    (cx, y1 - 3),
                                ],
                            ),
                        };
                        root.draw(&Polygon::new(pts, color.filled())).map_err(e)?;
                    }
                }
            }
            Row::Requests(client) => {
                for r in events {
                    if let Event::HttpRequest {
                        client: c,
                        started,
                        status,
                        server,
                        error,
                    } = &r.event
                        && c == client
                    {
                        let rx = x(*started);
                        let (color, top) = match (status, error, server) {
                            (Some(_), None, Some(sv)) => {
                                (server_color(&analysis::server_label(s, sv)), y0 + 6)
                            }
                            (Some(_), None, None) => (RGBColor(97, 97, 97), y0 + 6),
                            _ => (FAIL, y0),
                        };
                        root.draw(&PathElement::new(
                            vec![(rx, top), (rx, y1)],
                            color.stroke_width(1),
                        ))
                        .map_err(e)?;
                    }
                }
            }
        }
    }

    // Faults across every row, labelled at the top.
    for f in analysis::faults(s, events) {
        let fx = x(f.t);
        root.draw(&PathElement::new(
            vec![(fx, TOP - 12), (fx, axis_y)],
            FAIL.stroke_width(2),
        ))
        .map_err(e)?;
        root.draw(&Text::new(
            f.describe(),
            (fx + 4, TOP - 16),
            ("sans-serif", 11).into_font().color(&FAIL),
        ))
        .map_err(e)?;
    }

    // Legend.
    let ly = axis_y + 30;
    let mut lx = LEFT;
    let legend = |label: String, color: RGBColor, lx: &mut i32| -> Result<(), String> {
        root.draw(&Rectangle::new(
            [(*lx, ly), (*lx + 12, ly + 12)],
            color.filled(),
        ))
        .map_err(e)?;
        root.draw(&Text::new(label.clone(), (*lx + 16, ly), font(11)))
            .map_err(e)?;
        *lx += 26 + 6 * label.chars().count() as i32;
        Ok(())
    };
    for st in [
        VrrpStateName::Master,
        VrrpStateName::Backup,
        VrrpStateName::Init,
        VrrpStateName::Fault,
        VrrpStateName::Stop,
    ] {
        legend(st.as_str().to_string(), state_color(st), &mut lx)?;
    }
    for sv in &servers {
        legend(format!("answered by {sv}"), server_color(sv), &mut lx)?;
    }
    legend("failed / removed / fault".into(), FAIL, &mut lx)?;
    root.present().map_err(e)?;
    Ok(())
}
