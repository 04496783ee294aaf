#!/usr/bin/env bash
# One 西吉县 class from registration to payment, in a fresh ledger in the current folder.
# Usage: bash examples/xiji.sh   (needs `subsidy-ledger` on PATH; creates ./ledger.db and ./keys)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
sl=subsidy-ledger
$sl init
$sl actor add --id tw-640422-jq   --role township         --jurisdiction 640422 --name 西吉县吉强镇人民政府
$sl actor add --id pov-640422     --role poverty_office   --jurisdiction 640422 --name 西吉县扶贫开发办公室
$sl actor add --id inst-640422-zj --role institution      --jurisdiction 640422 --name 西吉县职业技术学校 --uscc 12640422MB1234567X
$sl actor add --id hr-640422      --role hr_bureau        --jurisdiction 640422 --name 西吉县人力资源和社会保障局
$sl actor add --id apc-640400     --role appraisal_center --jurisdiction 640400 --name 固原市职业技能鉴定中心
$sl actor add --id fin-640422     --role finance_bureau   --jurisdiction 640422 --name 西吉县财政局
$sl import --sign "$here/xiji-class.jsonl"
$sl import --sign "$here/xiji-class.jsonl"   # again: every line is a duplicate, nothing recorded twice
$sl log --from 88 --limit 5
