# SPDX-License-Identifier: Apache-2.0
# A Periskop payload whose every client-controlled string carries markup
# and script, for t/t0600-ui.sh: the UI must show them all as text.
# Usage: jq -n --argjson now "$(date +%s)" -f hostile.jq
def ts($s): ($now - $s) | todate;
{target_uuid: "0D3B1A8E-0000-4000-8000-00000000E710",
 aggregated_errors: [
  {aggregation_key: ("<img src=x onerror=\"window.__pwned=1\">" +
     "@e'v\"il/&amp;"),
   total_count: 3, severity: "error", created_at: ts(7200),
   latest_errors: [
    {error: {class: "<script>window.__pwned=2</script>",
      message: ("<b>bold</b><img src=x onerror=\"window.__pwned=3\">" +
        " & &amp; \"q\""),
      stacktrace: ["<svg onload=\"window.__pwned=4\">at()</svg>",
        "</pre><script>window.__pwned=5</script>"],
      cause: {class: "<iframe src=\"javascript:window.__pwned=6\"></iframe>",
        message: "<a href=\"javascript:window.__pwned=7\">x</a>",
        stacktrace: [], cause: null}},
     uuid: "6c3e4bd4-9a34-4a7e-8f31-0d9e8a1c0001", timestamp: ts(60),
     severity: "error",
     http_context: {request_method: "<script>window.__pwned=8</script>",
      request_url: "javascript:window.__pwned=9",
      request_headers: {
        "X-Evil<script>window.__pwned=10</script>":
          "<img src=x onerror=\"window.__pwned=11\">",
        Cookie: "a'b"},
      request_body: "</textarea><script>window.__pwned=12</script>"}},
    {error: {class: "Second",
      message: "{{constructor.constructor('window.__pwned=13')()}}",
      stacktrace: [], cause: "<script>window.__pwned=14</script>"},
     uuid: "6c3e4bd4-9a34-4a7e-8f31-0d9e8a1c0002", timestamp: ts(3600),
     severity: "warning"}]},
  # An old client's occurrences without a uuid, older than the above.
  {aggregation_key: "NoUuid@1", total_count: 3, severity: "error",
   latest_errors: [range(3) as $i |
    {error: {class: "NoUuid", message: "occurrence \($i)",
      stacktrace: [], cause: null},
     timestamp: ts(9000 + 60 * $i), severity: "error"}]}]}
