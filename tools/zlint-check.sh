#!/usr/bin/env bash
# Lint certificates (and CRLs) with the pinned zlint, minus the lints that only
# apply to publicly-trusted CAs. See tools/ZLINT-NOTES.md for the findings that
# justify each exclusion.
#
#   tools/zlint-check.sh [--require-urls] CERT.pem [more.pem ...]
#
# Every PEM block of every file is linted on its own (zlint itself only reads
# the first block of a file), so chain/bundle files are fine.
# Prints every lint result at level notice ("info" in zlint's JSON) or above.
# Exit status: 0 when no warn/error/fatal remains, 1 when some does, 2 on
# usage or tool errors.
#
# --require-urls  keep the CABF lints that demand cRLDistributionPoints and an
#                 authorityInformationAccess caIssuers URL; use it for
#                 certificates from a CA configured with those URLs.
#
# Environment: ZLINT=/path/to/zlint skips tools/install-zlint.sh.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

usage() { echo "usage: $0 [--require-urls] CERT.pem [more.pem ...]" >&2; exit 2; }

require_urls=0
files=()
for arg in "$@"; do
  case "$arg" in
    --require-urls) require_urls=1 ;;
    -h|--help) usage ;;
    -*) echo "zlint-check: unknown option $arg" >&2; usage ;;
    *) files+=("$arg") ;;
  esac
done
[[ ${#files[@]} -gt 0 ]] || usage
command -v python3 >/dev/null 2>&1 || { echo "zlint-check: python3 is required" >&2; exit 2; }

if [[ -n "${ZLINT:-}" ]]; then
  zlint="$ZLINT"
else
  zlint="$("$here/install-zlint.sh")" || { echo "zlint-check: tools/install-zlint.sh failed" >&2; exit 2; }
fi

# --- Whole sources excluded ---------------------------------------------------
exclude_sources=(
  # Apple root program: 398/397-day TLS validity caps and the CT SCT notice.
  # Apple applies these only to certificates chaining to roots in its trust
  # store (user- or MDM-installed roots are exempt), and a private CA cannot get
  # SCTs from public CT logs.
  Apple
  # Chrome root program: e_client_auth_not_allowed forbids clientAuth next to
  # serverAuth in certificates issued from 2027-03-15. certctl's peer and node
  # profiles are serverAuth+clientAuth by design (etcd members, Flocker nodes).
  Chrome
)

# --- Single lints excluded: CA/Browser Forum rules for publicly-trusted CAs ----
exclude_names=(
  # certificatePolicies with a CABF reserved OID (2.23.140.1.2.x) asserts audited
  # BR compliance, which a private CA cannot honestly claim; any other OID would
  # only silence the linter (the leaf lint accepts any OID).
  e_sub_cert_certificate_policies_missing
  e_sub_cert_cert_policy_empty
  e_sub_ca_certificate_policies_missing
  e_invalid_ca_certificate_policies
  # Private PKI names: RFC 1918 / loopback IPs, localhost, .internal, .local,
  # single-label names. (The lint also treats the subject CN as a DNS name, so a
  # UUID or "etcd-0" CN trips it.)
  e_ext_san_contains_reserved_ip
  # The same for name constraints: an intermediate limited to 10.0.0.0/8 is
  # what a private CA's --permit-ip is for.
  e_ext_nc_intersects_reserved_ip
  e_dnsname_not_valid_tld
  # CN carries the identity (etcd/Kubernetes client names, node UUIDs) and need
  # not repeat a SAN; the node profile has no SAN at all by design (RFC 5280
  # needs a SAN only when the subject is empty, which RFC5280 lints still check).
  w_subject_common_name_included
  e_subject_common_name_not_exactly_from_san
  e_ext_san_missing
  # BR 2.0 discourages SKI in subscriber certs; RFC 5280 says SHOULD include
  # (w_ext_subject_key_identifier_missing_sub_cert). certctl follows RFC 5280.
  w_ext_subject_key_identifier_not_recommended_subscriber
  # BR CA naming (countryName, organizationName in CA subjects). Satisfiable by
  # configuring C= and O= in the CA subject, but that is the operator's choice.
  e_ca_country_name_missing
  e_ca_organization_name_missing
  # BR ballot SC-081 TLS lifetime caps (200 days from 2026-03-15, 100 from
  # 2027-03-15, 47 from 2029-03-15), keyed to notBefore: public-trust policy,
  # and date bombs for tests.
  e_server_cert_valid_time_longer_than_200_days
  w_server_cert_valid_time_longer_than_199_days
  e_server_cert_valid_time_longer_than_100_days
  w_server_cert_valid_time_longer_than_99_days
  e_server_cert_valid_time_longer_than_47_days
  w_server_cert_valid_time_longer_than_46_days
)

# BR require a CRL URL (or OCSP) and an AIA caIssuers URL. A private CA can meet
# these only when it is configured to publish them, so they are checked only
# with --require-urls.
if [[ $require_urls -eq 0 ]]; then
  exclude_names+=(
    e_missing_crl_distrib_point
    e_sub_cert_aia_missing
    w_sub_cert_aia_does_not_contain_issuing_ca_url
    e_sub_ca_crl_distribution_points_missing
    w_sub_ca_aia_missing
  )
fi

# Only for certificates that use Ed25519/Ed448 (a key type certctl supports, RFC
# 8410): the BR allow only RSA and ECDSA keys and signatures.
eddsa_exclude_names=(
  e_algorithm_identifier_improper_encoding
  e_signature_algorithm_not_supported
)

join() { local IFS=,; echo "$*"; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Split every file into one file per PEM block; print "path<TAB>label<TAB>eddsa".
split_py='
import base64, re, sys
out_dir, n = sys.argv[1], 0
EDDSA_OIDS = (bytes.fromhex("06032b6570"), bytes.fromhex("06032b6571"))  # id-Ed25519, id-Ed448
for path in sys.argv[2:]:
    try:
        text = open(path, "rb").read().decode("ascii", "replace")
    except OSError as e:
        sys.exit(f"zlint-check: {e}")
    blocks = re.findall(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", text, re.S)
    blocks = [(k, b) for k, b in blocks if k in ("CERTIFICATE", "X509 CRL")]
    if not blocks:
        sys.exit(f"zlint-check: {path}: no PEM CERTIFICATE or X509 CRL block")
    for i, (kind, body) in enumerate(blocks):
        der = base64.b64decode("".join(body.split()))
        n += 1
        block = f"{out_dir}/{n}.pem"
        with open(block, "w") as f:
            f.write(f"-----BEGIN {kind}-----\n{body.strip()}\n-----END {kind}-----\n")
        label = path if len(blocks) == 1 else f"{path}#{i + 1}"
        eddsa = int(any(oid in der for oid in EDDSA_OIDS))
        print(f"{block}\t{label}\t{eddsa}")
'

# Read zlint JSON on stdin; print results at notice or above; exit 1 on warn+.
report_py='
import json, sys
label, meta_path = sys.argv[1], sys.argv[2]
meta = {}
for line in open(meta_path):
    d = json.loads(line)
    meta[d["name"]] = d
results = json.load(sys.stdin)
order = {"fatal": 0, "error": 1, "warn": 2, "info": 3}
bad = 0
for name, r in sorted(results.items(), key=lambda kv: (order.get(kv[1].get("result"), 9), kv[0])):
    level = r.get("result")
    if level not in order:
        continue
    m = meta.get(name, {})
    shown = "notice" if level == "info" else level
    source, desc, details = m.get("source", "?"), m.get("description", ""), r.get("details")
    details = f" [{details}]" if details else ""
    print(f"{label}: {shown} {name} ({source}): {desc}{details}")
    bad += level != "info"
sys.exit(1 if bad else 0)
'

"$zlint" -list-lints-json >"$tmp/lints.jsonl"
blocks="$(python3 -c "$split_py" "$tmp" "${files[@]}")" || exit 2

status=0
while IFS=$'\t' read -r block label eddsa; do
  names=("${exclude_names[@]}")
  [[ "$eddsa" == 1 ]] && names+=("${eddsa_exclude_names[@]}")
  if ! json="$("$zlint" -excludeSources "$(join "${exclude_sources[@]}")" \
                        -excludeNames "$(join "${names[@]}")" "$block")"; then
    echo "zlint-check: zlint failed on $label" >&2
    exit 2
  fi
  python3 -c "$report_py" "$label" "$tmp/lints.jsonl" <<<"$json" || status=1
done <<<"$blocks"
exit $status
