// Just enough PromQL reading for deploy/check: which metric names a query or
// an adapter seriesQuery mentions, so that they can be checked against the
// names tide exports (contract.json).

const kKeywords = new Set([
  "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values",
  "group", "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
  "offset", "rate", "irate", "increase", "delta", "idelta", "deriv", "histogram_quantile", "vector", "scalar",
  "abs", "ceil", "floor", "round", "clamp", "clamp_min", "clamp_max", "sort", "sort_desc", "time",
  "avg_over_time", "max_over_time", "min_over_time", "sum_over_time", "count_over_time", "last_over_time",
  "quantile_over_time", "absent", "absent_over_time", "label_replace", "label_join", "changes", "resets",
  "predict_linear", "timestamp", "exp", "ln", "log2", "log10", "sqrt", "inf", "nan",
]);

// Returns the metric names in a PromQL expression (identifiers that are not
// keywords, function names, label names inside {...} or by(...), durations,
// or Prometheus Adapter template fields such as <<.Series>>).
export function metricNames(query) {
  let q = String(query);
  q = q.replace(/<<[^>]*>>/g, " ");                  // adapter templates
  q = q.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""'); // string literals
  q = q.replace(/\{[^}]*\}/g, " ");                  // label matchers
  q = q.replace(/\[[^\]]*\]/g, " ");                 // range selectors
  q = q.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  const names = new Set();
  for (const m of q.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const word = m[0];
    const after = q.slice(m.index + word.length).trimStart();
    if (kKeywords.has(word)) continue;
    if (after.startsWith("(")) continue;             // a function we do not list
    names.add(word);
  }
  return [...names];
}

// Whether `name` is a series tide exports: a counter, a gauge, or one of a
// histogram's _bucket/_sum/_count series.
export function isTideSeries(name, contractMetrics) {
  const type = contractMetrics[name];
  if (type === "counter" || type === "gauge") return true;
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  return Boolean(m && contractMetrics[m[1]] === "histogram");
}
