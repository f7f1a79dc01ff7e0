// The numbers behind the charts: smoothing, outlier-robust ranges, histogram percentiles and re-binning.
// Pure functions, no DOM: the browser tests check them against TensorBoard's definitions.

/**
 * TensorBoard's scalar smoothing: a debiased exponential moving average with weight `w` in
 * [0, 1). Non-finite values pass through unsmoothed and do not enter the average; a constant
 * series is returned as it is (TensorBoard does the same, so flat lines stay exact).
 */
export function smooth(values, w) {
  const out = new Array(values.length);
  if (!(w > 0)) {
    for (let i = 0; i < values.length; i++) out[i] = values[i];
    return out;
  }
  const first = values[0];
  const constant = values.every((v) => v === first);
  let last = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (constant || !Number.isFinite(v)) {
      out[i] = v;
      continue;
    }
    last = last * w + (1 - w) * v;
    n++;
    out[i] = w === 1 ? last : last / (1 - Math.pow(w, n));
  }
  return out;
}

/** The `q` quantile (0..1) of sorted finite `xs`, interpolated. */
export function quantile(sorted, q) {
  if (!sorted.length) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** The smallest and largest of every run's values (`perRun`: arrays of finite numbers); null
 * without any. */
export function extent(perRun) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const vs of perRun) {
    for (const v of vs) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return lo <= hi ? [lo, hi] : null;
}

/**
 * The extent of the bulk of the runs' values (`perRun`: arrays of finite numbers), ignoring
 * outliers; null without any value.
 *
 * TensorBoard's "Ignore outliers in chart scaling" (`computeDataSeriesExtent` in
 * tensorboard/webapp/widgets/line_chart_v2/line_chart_internal_utils.ts) takes the 5th and 95th
 * percentiles of every visible smoothed point of all runs pooled. Pooled, one diverging run
 * (a sixth of the points, most of them 1e6 times the rest) still owns the 95th percentile and
 * flattens the other runs. Here each run gets its own 5th–95th percentile range (TensorBoard's
 * rule, per run), and a run whose range ends more than `k` times the bulk's height beyond the
 * median run's (median of the runs' lows and of their highs) does not stretch the chart on that
 * side: a diverged run (1e6 times the others) is drawn off the chart's top, and every typical
 * run fits. `k` is large so that runs which differ for real stay in view: learning rates from
 * 0.001 to 0.8 are all shown (the demo's are 40 times the median run's apart). With one or two
 * runs there is no bulk to tell an outlier by: their ranges are all kept.
 */
export function robustExtent(perRun, { low = 0.05, high = 0.95, k = 100 } = {}) {
  const ranges = [];
  for (const vs of perRun) {
    if (!vs.length) continue;
    const sorted = Float64Array.from(vs).sort();
    ranges.push([quantile(sorted, low), quantile(sorted, high)]);
  }
  if (!ranges.length) return null;
  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return quantile(s, 0.5);
  };
  let keepLo = () => true;
  let keepHi = () => true;
  if (ranges.length > 2) {
    const midLo = median(ranges.map((r) => r[0]));
    const midHi = median(ranges.map((r) => r[1]));
    const height = midHi - midLo || Math.abs(midHi) * 0.1 || 1;
    keepLo = (v) => v >= midLo - k * height;
    keepHi = (v) => v <= midHi + k * height;
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (const [a, b] of ranges) {
    if (keepLo(a)) lo = Math.min(lo, a);
    if (keepHi(b)) hi = Math.max(hi, b);
  }
  return lo <= hi ? [lo, hi] : extent(ranges);
}

/** The basis points of TensorBoard's distributions (compressed histograms). */
export const DISTRIBUTION_BPS = [0, 668, 1587, 3085, 5000, 6915, 8413, 9332, 10000];

/**
 * The values below which `bps[i] / 10000` of a histogram's count lies, interpolated linearly
 * inside buckets (`buckets` are `[left, right, count]` in order, see [`cleanBuckets`]), as
 * TensorBoard computes its distributions. NaN for an empty histogram.
 */
export function percentiles(buckets, bps = DISTRIBUTION_BPS) {
  const total = buckets.reduce((s, b) => s + b[2], 0);
  if (!(total > 0)) return bps.map(() => NaN);
  const out = [];
  let i = 0;
  let cum = 0;
  for (const bp of bps) {
    const target = (total * bp) / 10000;
    while (i < buckets.length - 1 && cum + buckets[i][2] < target) {
      cum += buckets[i][2];
      i++;
    }
    const [left, right, count] = buckets[i];
    const frac = count > 0 ? Math.min(1, Math.max(0, (target - cum) / count)) : 0;
    out.push(left + (right - left) * frac);
  }
  return out;
}

/** `count` indices spread evenly over `0..len` (all of them when `len <= count`). */
export function spread(len, count) {
  if (len <= count) return Array.from({ length: len }, (_, i) => i);
  const out = [];
  for (let i = 0; i < count; i++) out.push(Math.round((i * (len - 1)) / (count - 1)));
  return [...new Set(out)];
}

/**
 * A histogram's buckets as the drawing needs them: finite edges in order (`left <= right`: legacy
 * data may send `[3.0, 2.88, 0]`), positive finite counts only, sorted by their left edge.
 * For drawing: the API keeps serving the buckets as logged.
 */
export function cleanBuckets(buckets) {
  const out = [];
  for (const [a, b, c] of buckets) {
    if (!Number.isFinite(a) || !Number.isFinite(b) || !(c > 0) || !Number.isFinite(c)) continue;
    out.push(a <= b ? [a, b, c] : [b, a, c]);
  }
  return out.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
}

/** TensorBoard's bin count when it draws a histogram. */
export const DRAWN_BINS = 30;

/**
 * `buckets` (from [`cleanBuckets`]) re-binned into `n` equal bins over `[left, right]`, as
 * counts: TensorBoard's front end does this before drawing (`buildNormalizedHistograms` /
 * `rebuildBins` / `getBinContribution` in tensorboard/webapp/widgets/histogram/histogram_util.ts,
 * 30 bins over the range of every histogram of the chart). A bucket's count is shared among the
 * bins it overlaps, in proportion to the overlap; a zero-width bucket's count goes to the bin
 * holding it (the right one on an edge, the last one at `right`). Unlike TensorBoard, buckets
 * need not be contiguous, and buckets outside `[left, right]` are left out.
 */
export function rebin(buckets, left, right, n = DRAWN_BINS) {
  const counts = new Array(n).fill(0);
  const width = (right - left) / n;
  if (!(width > 0) || !Number.isFinite(width)) return counts;
  const binOf = (x) => Math.min(n - 1, Math.max(0, Math.floor((x - left) / width)));
  for (const [a, b, c] of buckets) {
    if (b < left || a > right) continue;
    if (b === a) {
      counts[binOf(a)] += c;
      continue;
    }
    const lo = Math.max(a, left);
    const hi = Math.min(b, right);
    const first = binOf(lo);
    const last = binOf(hi);
    for (let i = first; i <= last; i++) {
      const binLo = left + i * width;
      const overlap = Math.min(hi, binLo + width) - Math.max(lo, binLo);
      if (overlap > 0) counts[i] += (c * overlap) / (b - a);
    }
  }
  return counts;
}
