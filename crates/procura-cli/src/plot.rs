//! TEMPORARY stub until the plot branch merges.
#![allow(dead_code, missing_docs)]
pub struct Series {
    pub label: String,
    pub points: Vec<Point>,
}
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub interval: Option<(f64, f64)>,
}
pub struct Bar {
    pub label: String,
    pub value: f64,
}
pub fn line_chart(title: &str, _x: &str, _y: &str, _s: &[Series]) -> anyhow::Result<String> {
    Ok(format!("<svg>{title}</svg>"))
}
pub fn bar_chart(title: &str, _y: &str, _b: &[Bar]) -> anyhow::Result<String> {
    Ok(format!("<svg>{title}</svg>"))
}
