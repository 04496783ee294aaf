"""``VERIFY.md``: how to check an export by hand with openssl, sha256sum and coreutils."""

from __future__ import annotations

from ledger.encoding.b64 import b64encode
from ledger.translog.note import Checkpoint


def verify_md(checkpoint: Checkpoint, operator_pub: str, *, partial: bool, example: tuple[int, int] | None) -> str:
    """How to check this export by hand with openssl, sha256sum and coreutils (Chinese, then English)."""
    seq, line = example if example is not None else (0, 1)
    root_hex = checkpoint.root_hash.hex()
    what_zh = "证据包（日志的一部分）" if partial else "完整日志"
    what_en = "an evidence bundle (part of the log)" if partial else "the whole log"
    files_zh = (
        "- `proofs.json` —— 每条记录在该检查点下的包含证明（RFC 9162），每条一行：`\"<seq>\":[base64,…]`\n"
        if partial else ""
    )  # fmt: skip
    files_en = (
        "- `proofs.json` — each leaf's RFC 9162 inclusion proof under that checkpoint, one line each: `\"<seq>\":[base64,…]`\n"
        if partial else ""
    )  # fmt: skip
    tree_zh = (
        f"### 4. 包含证明（inclusion proof）\n\n"
        f"证明 seq {seq} 的叶子在大小为 {checkpoint.size} 的树中（RFC 9162 §2.1.3.2）：从叶子哈希出发，"
        "按路径逐个与兄弟节点合并，左右由 `fn`、`sn` 决定，最后必须得到检查点中的根哈希。"
        "内部节点哈希 = SHA-256(0x01 ‖ 左 ‖ 右)。见下方英文部分第 4 步的脚本（命令相同）。\n"
        if partial else
        "### 4. 重算根哈希（Merkle 树）\n\n"
        "按 RFC 9162 由全部叶子哈希逐层两两合并：每层从左到右两两配对，"
        "内部节点哈希 = SHA-256(0x01 ‖ 左 ‖ 右)；某层最后剩下单个节点时原样上移。"
        "最后一个哈希必须等于检查点第 3 行的根哈希。见下方英文部分第 4 步的脚本（命令相同）。\n"
    )  # fmt: skip
    tree_en = _TREE_PARTIAL if partial else _TREE_FULL
    return _VERIFY_TEMPLATE.format(
        what_zh=what_zh, what_en=what_en, files_zh=files_zh, files_en=files_en, tree_zh=tree_zh,
        tree_en=tree_en.format(seq=seq, line=line, size=checkpoint.size, root_hex=root_hex),
        origin=checkpoint.origin, size=checkpoint.size, root=b64encode(checkpoint.root_hash), root_hex=root_hex,
        operator_pub=operator_pub, seq=seq, line=line,
    )  # fmt: skip


_VERIFY_TEMPLATE = """\
# 如何手工核验本导出 / How to verify this export by hand

本文件夹是账本 `{origin}` 的{what_zh}，由运营方在大小为 {size} 的检查点（检查点 checkpoint）下导出。
This folder is {what_en} of ledger `{origin}`, exported under the operator's checkpoint of size {size}.

> **警告：** `operator.pub` 只是随导出附带的副本，它只能为它自己作证。核验之前，请把它与运营方
> 公开发布的公钥（官方网站、公告或加盖公章的文件）逐字比对；不一致时，本导出中的任何内容都不可信。
>
> **Warning:** `operator.pub` is only the exporter's copy and vouches for nothing but itself.
> Before anything else, compare it character by character with the key the operator published
> (official website, notice, sealed letter). If they differ, nothing in this export can be trusted.
>
>     {operator_pub}

## 中文

文件：

- `entries.jsonl` —— 每行是一条日志记录（叶子）的原始字节，按 seq 排序，以 LF 结尾（LF 不属于叶子）
- `checkpoint` —— 运营方签署的检查点（C2SP signed note）：第 1 行来源 `{origin}`，第 2 行树大小 {size}，
  第 3 行根哈希（base64）`{root}`，空行之后是签名行（可能还有财政局、纪检监察的联署行）
- `operator.pub` —— 运营方公钥（C2SP verifier key：`名称+密钥ID+base64(0x01‖32 字节公钥)`）
{files_zh}
只需要 `openssl`（3.0 及以上）、`sha256sum`、`base64`、`xxd`、`sed`、`grep`、`head`/`tail`（bash，`LC_ALL=C`）。
命令见下方英文部分，每一步的含义如下：

### 1. 叶子哈希

叶子哈希 = SHA-256(0x00 ‖ 叶子字节)（RFC 9162 §2.1.1）。取 `entries.jsonl` 的一行，去掉行尾 LF，在前面加一个 0x00 字节后计算 SHA-256。
例如 seq {seq} 是第 {line} 行。

### 2. 检查点签名

签名覆盖检查点的前三行（含各自的换行符）。公钥是 `operator.pub` 第三段 base64 解码后去掉第一个字节（0x01）的 32 字节；
签名行 `— {origin} <base64>` 解码后前 4 字节是密钥 ID（= SHA-256(名称 ‖ 0x0A ‖ 0x01 ‖ 公钥) 的前 4 字节），后 64 字节是 Ed25519 签名。
把 32 字节公钥前面加上固定的 12 字节头 `302a300506032b6570032100` 就是 DER 格式公钥，用 `openssl pkeyutl -verify -rawin` 验证。

### 3. 事件签名

每条记录中的 `envelope` 由签署它的单位用 Ed25519 签名，签名内容是去掉 `sig` 字段后的 RFC 8785（JCS）规范 JSON。
由于叶子本身就是 JCS 字节，去掉外层 `{{"envelope":` 与末尾的 `,"recorded_at":…,"seq":…}}`，再删除 `"sig":"…",` 即得被签名的字节。
`key_id` = `ed25519:` + SHA-256(32 字节公钥) 的前 32 个十六进制字符；对应公钥在登记该密钥的 `ActorRegistered` 或 `KeyRotated` 记录中
（本导出包含签名单位的全部登记、轮换、吊销记录，一直追溯到 seq 0 的创世记录）。该记录的 seq 必须小于被验证记录的 seq，
且在被验证记录之前没有轮换（`KeyRotated`）或吊销（`KeyRevoked`）该密钥。

{tree_zh}
全部通过，说明这些记录正是运营方签署的检查点所覆盖的内容，一个字节都没有改动。

## English

Files:

- `entries.jsonl` — each line is one log entry (leaf), its exact bytes, in seq order, LF-terminated (the LF is not part of the leaf)
- `checkpoint` — the operator's signed checkpoint (C2SP signed note): line 1 origin `{origin}`, line 2 tree size {size},
  line 3 root hash (base64) `{root}`; after the blank line, signature lines (possibly cosignatures by a finance bureau or inspector)
- `operator.pub` — the operator's key (C2SP verifier key: `name+keyid+base64(0x01 ‖ 32-byte key)`)
{files_en}
You need only `openssl` (3.0 or later), `sha256sum`, `base64`, `xxd`, `sed`, `grep`, `head`/`tail` (bash, `LC_ALL=C`):

```sh
export LC_ALL=C
```

### 1. A leaf hash

Leaf hash = SHA-256(0x00 ‖ leaf bytes) (RFC 9162 §2.1.1). Line {line} of `entries.jsonl` is seq {seq}:

```sh
LINE={line}
sed -n "${{LINE}}p" entries.jsonl | head -c -1 > leaf.bin        # the leaf, without its LF
(printf '\\000'; cat leaf.bin) | sha256sum | cut -c1-64           # its leaf hash, hex
```

### 2. The checkpoint signature

The operator signs the first three lines of `checkpoint` (each with its newline):

```sh
ORIGIN=$(head -n 1 checkpoint)
head -n 3 checkpoint > body.txt
cut -d+ -f3- operator.pub | base64 -d | tail -c 32 > operator.raw          # drop the 0x01 type byte
(printf '%s\\n\\001' "$ORIGIN"; cat operator.raw) | sha256sum | cut -c1-8    # key id: must equal field 2 of operator.pub
grep "^— $ORIGIN " checkpoint | head -n 1 | cut -d' ' -f3 | base64 -d > sigline.bin
head -c 4 sigline.bin | xxd -p                                             # the same key id again
tail -c 64 sigline.bin > checkpoint.sig
(printf '302a300506032b6570032100' | xxd -r -p; cat operator.raw) > operator.der   # DER SubjectPublicKeyInfo
openssl pkeyutl -verify -pubin -inkey operator.der -keyform DER -rawin -in body.txt -sigfile checkpoint.sig
sed -n 3p checkpoint | base64 -d | xxd -p -c 32                            # the root, hex: {root_hex}
```

`openssl` must print `Signature Verified Successfully`.

### 3. An envelope signature

Each `envelope` is signed with Ed25519 by the organisation that acted, over the RFC 8785 (JCS)
canonical JSON of the envelope without `sig`. The leaf is itself JCS, so strip the leaf's
wrapper and the `sig` member to get exactly the signed bytes:

```sh
sed -e 's/^{{"envelope"://' -e 's/,"recorded_at":"[^"]*","seq":[0-9]*}}$//' \\
    -e 's/"sig":"[A-Za-z0-9+\\/=]*",//' leaf.bin | tr -d '\\n' > signed.bin
grep -o '"sig":"[^"]*"' leaf.bin | cut -d'"' -f4 | base64 -d > envelope.sig
KID=$(grep -o '"key_id":"ed25519:[0-9a-f]*"' leaf.bin | tail -n 1 | cut -d'"' -f4 | cut -d: -f2)
# key_id = "ed25519:" + first 32 hex chars of SHA-256(raw 32-byte key). Find the registered key:
for pk in $(grep -o '"public_key":"[A-Za-z0-9+/=]*"' entries.jsonl | cut -d'"' -f4 | sort -u); do
  [ "$(printf '%s' "$pk" | base64 -d | sha256sum | cut -c1-32)" = "$KID" ] && printf '%s' "$pk" | base64 -d > signer.raw
done
(printf '302a300506032b6570032100' | xxd -r -p; cat signer.raw) > signer.der
openssl pkeyutl -verify -pubin -inkey signer.der -keyform DER -rawin -in signed.bin -sigfile envelope.sig
```

The key must have been registered (`ActorRegistered` or `KeyRotated` naming it: `grep -n` for the
`public_key` shows its line) at a smaller seq than the envelope's, and not rotated (`KeyRotated` of
that actor) or revoked (`KeyRevoked` naming that `key_id`) before it. This export holds every
registration, rotation and revocation of each signing organisation, back to the genesis leaf seq 0.

{tree_en}
If every step passes, these entries are exactly what the operator's checkpoint covers, byte for byte.
"""


_TREE_FULL = """\
### 4. The root of the whole log

RFC 9162 §2.1.1 defines the root over all leaf hashes. Equivalently, level by level: pair the
hashes left to right, an interior node being SHA-256(0x01 ‖ left ‖ right); a single node left
over at the end of a level moves up unchanged. The last hash standing must be the checkpoint's root.

```sh
mkdir -p h && rm -f h/*
sed 's/^/\\x00/' entries.jsonl | split -l 1 -a 9 -d - h/     # one file per leaf: 0x00 ‖ leaf ‖ LF
find h -type f | xargs truncate -s -1                        # drop each LF
find h -type f | sort | xargs sha256sum | cut -c1-64 > level.txt
while [ "$(wc -l < level.txt)" -gt 1 ]; do
  n=$(wc -l < level.txt); rm -f h/*
  head -n $((n / 2 * 2)) level.txt | paste -d '\\0' - - | sed 's/^/01/' | xxd -r -p | split -b 65 -a 9 -d - h/
  {{ find h -type f | sort | xargs sha256sum | cut -c1-64; if [ $((n % 2)) -eq 1 ]; then tail -n 1 level.txt; fi; }} > next.txt
  mv next.txt level.txt
done
cat level.txt     # must equal {root_hex}
```

The log has {size} leaves: `wc -l entries.jsonl` must say so, and line k is seq k−1.
"""


_TREE_PARTIAL = """\
### 4. An inclusion proof

`proofs.json` holds, for each exported seq, the RFC 9162 §2.1.3 inclusion path in the tree of
{size} leaves. Walk it from the leaf hash (step 1) up to the root (RFC 9162 §2.1.3.2):

```sh
SEQ={seq}; N=$(sed -n 2p checkpoint)
h=$( (printf '\\000'; cat leaf.bin) | sha256sum | cut -c1-64)    # leaf.bin of seq {seq} (line {line}), from step 1
fn=$SEQ; sn=$((N - 1))
for p in $(grep "^\\"$SEQ\\":" proofs.json | grep -o '"[A-Za-z0-9+/]\\{{43\\}}="' | tr -d '"'); do
  p=$(printf '%s' "$p" | base64 -d | xxd -p -c 32)
  if [ $((fn % 2)) -eq 1 ] || [ $fn -eq $sn ]; then
    h=$(printf '01%s%s' "$p" "$h" | xxd -r -p | openssl dgst -sha256 -r | cut -c1-64)
    if [ $((fn % 2)) -eq 0 ]; then
      while [ $fn -ne 0 ] && [ $((fn % 2)) -eq 0 ]; do fn=$((fn / 2)); sn=$((sn / 2)); done
    fi
  else
    h=$(printf '01%s%s' "$h" "$p" | xxd -r -p | openssl dgst -sha256 -r | cut -c1-64)
  fi
  fn=$((fn / 2)); sn=$((sn / 2))
done
echo "$sn $h"     # must print: 0 {root_hex}
```

`sn` must end at 0 and `h` must equal the checkpoint's root; repeat for each line of `entries.jsonl`
(the seq of a line is the `"seq":` at its end).
"""
