# SPDX-License-Identifier: Apache-2.0
# A Periskop payload of 5,000 aggregates, one occurrence each, spread over
# the last 24 h, for the UI's speed checks in t/t0600-ui.sh.
# Usage: jq -n --argjson now "$(date +%s)" -f big.jq
def sev($i): ["error", "warning", "info"][$i % 3];
{target_uuid: "B16B16B1-0000-4000-8000-000000005000",
 aggregated_errors: [range(5000) as $i | {
  aggregation_key: ("com.example.Module\($i % 40).Failure\($i)" +
    "@\($i * 7919 % 65536)"),
  total_count: (($i * 37) % 997 + 1),
  severity: sev($i),
  created_at: (($now - 86400 - $i) | todate),
  latest_errors: [{
   error: {class: "com.example.Module\($i % 40)Exception",
    message: "failure \($i) in step \($i % 13)",
    stacktrace: ["com.example.Module\($i % 40).run(Module.java:\($i))"],
    cause: null},
   uuid: "00000000-0000-4000-8000-\($i + 100000000000)",
   timestamp: (($now - ($i * 17)) | todate), severity: sev($i)}]}]}
