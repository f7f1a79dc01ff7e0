//! One chart per tag (PNG or SVG), a line per chosen run, drawn by `crate::chart` from each run's downsampled points.

use std::collections::BTreeMap;
use std::io::Write;

use indicatif::ProgressBar;
use rusqlite::Connection;

use super::files::{FileNames, PartialFile};
use super::select::Chosen;
use super::{ExportError, ExportOptions};
use crate::chart::{self, ChartFormat, RunColors};

/// Draws a chart of every tag of `chosen` into `options.out` (file names from the tags, made
/// safe and unique); returns the points drawn and the files written.
pub(super) fn write_charts(
    conn: &Connection,
    chosen: &[Chosen],
    colors: &RunColors,
    options: &ExportOptions,
    format: ChartFormat,
    progress: &ProgressBar,
) -> Result<(u64, usize), ExportError> {
    let mut by_tag: BTreeMap<&str, Vec<&Chosen>> = BTreeMap::new();
    for c in chosen {
        by_tag.entry(c.info.tag.as_str()).or_default().push(c);
    }
    progress.set_length(by_tag.len() as u64);
    let (mut points, mut files) = (0, 0);
    let mut names = FileNames::default();
    for (tag, series) in by_tag {
        let lines = series
            .iter()
            .map(|c| {
                let color = colors.index(&c.info.run);
                chart::read_line(conn, &c.info.run, c.id, color, options.max_points)
            })
            .collect::<Result<Vec<_>, _>>()?;
        points += lines.iter().map(|l| l.points.len() as u64).sum::<u64>();
        let bytes = chart::render(tag, &lines, &options.chart, format)?;
        let path = options.out.join(names.name(tag, format.extension()));
        let mut file = PartialFile::create(path)?;
        if let Err(e) = file.out.write_all(&bytes) {
            return Err(file.error(e));
        }
        file.finish()?;
        files += 1;
        progress.inc(1);
    }
    Ok((points, files))
}
