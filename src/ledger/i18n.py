"""User-facing text: Chinese first, English with ``--lang en`` (GLOSSARY.md terms)."""

from __future__ import annotations

import os

MESSAGES: dict[str, tuple[str, str]] = {
    "error": ("错误", "error"),
    "refused": ("拒绝", "refused"),
    "internal": ("内部错误", "internal error"),
    "checkpoint_healed": (
        "已补签检查点（大小 {size}）：上一条命令在签署检查点之前中断",
        "signed the missing checkpoint (size {size}): an earlier command stopped before signing it",
    ),
    "no_ledger": (
        "{db} 处没有账本（先运行 `subsidy-ledger init`，或用 --db 指定账本）",
        "no ledger at {db} (run `subsidy-ledger init` first, or pass --db)",
    ),
    "is_folder": ("{path} 是文件夹，不是文件：请给出一个 JSON Lines 文件", "{path} is a folder, not a file: give a JSON Lines file"),
    "init_done": (
        "已初始化账本：创世记录 seq 0（管理员 {admin}），运营方公钥 {verifier}",
        "ledger initialised: genesis leaf seq 0 (admin {admin}); operator key {verifier}",
    ),
    "actor_added": ("已登记主体 {actor}（{role}，{jurisdiction}）：seq {seq}", "actor {actor} ({role}, {jurisdiction}) registered: seq {seq}"),
    "actor_rotated": ("已轮换 {actor} 的密钥：seq {seq}，新公钥 {key_id}", "key of {actor} rotated: seq {seq}, new key {key_id}"),
    "actor_revoked": ("已吊销 {actor} 的密钥 {key_id}：seq {seq}", "key {key_id} of {actor} revoked: seq {seq}"),
    "accepted": ("已记录：seq {seq}", "accepted: seq {seq}"),
    "duplicate": ("重复：已在 seq {seq} 记录", "duplicate: already recorded at seq {seq}"),
    "line_refused": ("第 {line} 行 拒绝：{reason}", "line {line} refused: {reason}"),
    "import_summary": (
        "导入完成：共 {total} 行，记录 {accepted}，重复 {duplicate}，拒绝 {refused}；日志长度 {size}",
        "import done: {total} lines, {accepted} accepted, {duplicate} duplicates, {refused} refused; log size {size}",
    ),
    "importing": ("导入", "importing"),
    "pii_shown": ("（本次查阅已记录：seq {seq}）", "(this read was recorded: seq {seq})"),
    "pii_already_erased": (
        "{laborer} 的个人信息已于 seq {seq} 删除；未重复记录",
        "personal data of {laborer} was already erased at seq {seq}; nothing recorded again",
    ),
    "pii_erased": ("已删除 {laborer} 的个人信息：seq {seq}；日志未改动", "personal data of {laborer} erased: seq {seq}; the log is unchanged"),
    "log_empty": ("日志为空", "the log is empty"),
}


def lang() -> str:
    value = os.environ.get("LEDGER_LANG", "zh")
    return value if value in ("zh", "en") else "zh"


def t(key: str, **kw: object) -> str:
    zh, en = MESSAGES[key]
    return (zh if lang() == "zh" else en).format(**kw)
