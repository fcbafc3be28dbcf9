"""The Latxa-Instruct training grid: `exp_{BACKBONE}_{CORPUS_EU}{INST_EU}{INST_EN}` -> axolotl configs.

A code such as `2_011` picks backbone 2 and switches on dataset groups by position (corpus_eu,
inst_eu, inst_en); each run becomes a `TrainSpec` with Latxa-Instruct's published
hyperparameters as defaults, rendered by `axolotl_config` (every dataset pinned to a sha), plus a
Slurm script that launches axolotl on several nodes the way the authors' train_scripts/ do.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from factory.recipe_base import StrictModel
from factory.train.spec import RESERVED_AXOLOTL_KEYS, TrainDataset, TrainSpec
from factory.train.specfile import pinned_model_revision

CODE = re.compile(r"^([0-9])_([01])([01])([01])$")
GROUPS = ("corpus_eu", "inst_eu", "inst_en")  # the code's flag positions
DATASET_ORDER = ("inst_eu", "inst_en", "corpus_eu")  # the order the published configs list them

# Latxa-Instruct's published axolotl settings (model_training/train_configs/exp_*_fixed.yaml),
# every key that is the same in all 17 8B configs, paths and logging accounts left out.
PUBLISHED_HYPERPARAMETERS: dict[str, Any] = {
    "model_type": "AutoModelForCausalLM",
    "tokenizer_type": "AutoTokenizer",
    "load_in_8bit": False,
    "load_in_4bit": False,
    "strict": False,
    "gptq": False,
    "shuffle_merged_datasets": True,
    "sequence_len": 8192,
    "sample_packing": True,
    "eval_sample_packing": False,
    "pad_to_sequence_len": False,
    "special_tokens": {"pad_token": "<|end_of_text|>"},
    "neftune_noise_alpha": 5,
    "gradient_accumulation_steps": 1,
    "micro_batch_size": 2,
    "eval_batch_size": 1,
    "num_epochs": 4,
    "optimizer": "adamw_torch_fused",
    "adam_beta1": 0.9,
    "adam_beta2": 0.95,
    "adam_epsilon": 1.0e-8,
    "lr_scheduler": "cosine",
    "learning_rate": 1.0e-5,
    "cosine_min_lr_ratio": 0.33,
    "train_on_inputs": False,
    "group_by_length": False,
    "bf16": True,
    "fp16": False,
    "tf32": False,
    "gradient_checkpointing": True,
    "auto_resume_from_checkpoints": True,
    "logging_steps": 1,
    "flash_attention": True,
    "warmup_ratio": 0.1,
    "evals_per_epoch": 4,
    "saves_per_epoch": 4,
    "save_total_limit": 4,
    "weight_decay": 0.1,
    "plugins": ["axolotl.integrations.liger.LigerPlugin"],
    "liger_rope": True,
    "liger_rms_norm": True,
    "liger_glu_activation": True,
    "liger_layer_norm": True,
    "liger_fused_linear_cross_entropy": True,
}
PUBLISHED_SEED = 33


class ChatDefaults(StrictModel):
    """Settings every chat dataset of the grid gets unless it sets its own (the published ones)."""

    chat_template: str = Field("llama-3.1", description="Chat template of every chat dataset.")
    roles: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "user": ["human", "user"],
            "assistant": ["gpt", "assistant"],
            "system": ["system"],
        },
        description="axolotl `roles`.",
    )
    roles_to_train: list[str] = Field(
        default_factory=lambda: ["gpt", "assistant"], description="axolotl `roles_to_train`."
    )
    train_on_eos: Literal["turn", "all", "last", "none"] = Field(
        "turn", description="axolotl `train_on_eos`."
    )

    def apply(self, entry: TrainDataset) -> TrainDataset:
        if entry.type != "chat_template":
            return entry
        fill = {
            "chat_template": entry.chat_template or self.chat_template,
            "roles": entry.roles if entry.roles is not None else self.roles,
            "roles_to_train": entry.roles_to_train
            if entry.roles_to_train is not None
            else self.roles_to_train,
            "train_on_eos": entry.train_on_eos or self.train_on_eos,
        }
        return entry.model_copy(update=fill)


class Backbone(StrictModel):
    """A base model at a pinned revision."""

    model: str = Field(description="Hugging Face model id (or local folder).")
    revision: str = Field(description="Commit sha (or tag) of the model.")

    @field_validator("revision", mode="before")
    @classmethod
    def _pinned(cls, value: Any) -> str:
        return pinned_model_revision(value, "revision")


class SlurmSpec(StrictModel):
    """How the Slurm script launches one run (multi-node `accelerate launch`, or `torchrun`)."""

    nodes: int = Field(32, ge=1, description="Nodes (the published 8B runs used 32).")
    gpus_per_node: int = Field(4, ge=1, description="GPUs per node.")
    cpus_per_task: int = Field(16, ge=1, description="CPUs per node task.")
    mem: str = Field("168GB", description="Memory per node (#SBATCH --mem).")
    time: str = Field("24:00:00", description="Time limit (#SBATCH --time).")
    account: str | None = Field(None, description="#SBATCH -A.")
    partition: str | None = Field(None, description="#SBATCH -p.")
    launcher: Literal["accelerate", "torchrun"] = Field(
        "accelerate", description="accelerate launch (as published) or torchrun."
    )
    main_process_port: int = Field(9327, description="Rendezvous port on the first node.")
    fsdp: dict[str, str] = Field(
        default_factory=lambda: {
            "fsdp_sharding_strategy": "HYBRID_SHARD",
            "fsdp_state_dict_type": "SHARDED_STATE_DICT",
            "fsdp_backward_prefetch": "BACKWARD_PRE",
            "fsdp_auto_wrap_policy": "TRANSFORMER_BASED_WRAP",
            "fsdp_cpu_ram_efficient_loading": "true",
        },
        description="accelerate --fsdp_* options (empty: no --use_fsdp); the device mesh is "
        "(nodes, gpus_per_node) for HYBRID_SHARD.",
    )
    env: dict[str, str] = Field(
        default_factory=lambda: {
            "TOKENIZERS_PARALLELISM": "true",
            "HF_HUB_OFFLINE": "1",
            "WANDB_MODE": "offline",
            "NCCL_TIMEOUT": "14400",
            "TORCH_NCCL_ASYNC_ERROR_HANDLING": "1",
        },
        description="Environment exported before the launch.",
    )
    setup: list[str] = Field(
        default_factory=list,
        description="Shell lines run before the launch, e.g. `source ~/venvs/axolotl/bin/activate`.",
    )


class GridRun(StrictModel):
    """A run beside the grid's codes: a code with its own backbone, groups or settings (e.g. 70B)."""

    name: str = Field(description="Run name: config file stem and output folder.")
    code: str = Field(description="The grid code it follows, e.g. '2_101' (quoted).")

    @field_validator("code", mode="before")
    @classmethod
    def _quoted(cls, value: Any) -> Any:
        if isinstance(value, int):
            raise ValueError(f"quote the code ({value} was read as a number): write '2_101'")
        return value

    backbone: Backbone | None = Field(None, description="Backbone instead of the code's.")
    groups: dict[str, list[TrainDataset]] = Field(
        default_factory=dict, description="Dataset groups replaced for this run."
    )
    seed: int | None = Field(None, description="Seed instead of the grid's.")
    axolotl: dict[str, Any] = Field(
        default_factory=dict, description="axolotl settings added to or replacing the grid's."
    )
    slurm: dict[str, Any] = Field(
        default_factory=dict, description="Slurm settings replacing the grid's (e.g. nodes: 64)."
    )


def _check_code(code: str) -> str:
    if not CODE.match(code):
        raise ValueError(
            f"code {code!r} is not BACKBONE_CIE (a digit, '_', three 0/1 flags: corpus_eu, inst_eu, inst_en), e.g. 2_011"
        )
    if code.endswith("000"):
        raise ValueError(f"code {code!r} trains on no dataset group (that is the backbone itself)")
    return code


def _check_axolotl(value: dict[str, Any]) -> dict[str, Any]:
    clash = sorted(RESERVED_AXOLOTL_KEYS & set(value))
    if clash:
        raise ValueError(
            f"{', '.join(clash)} cannot be set here: the grid writes them from backbones, groups, seed and chat"
        )
    return value


class GridSpec(StrictModel):
    """What `factory train grid` expands into one axolotl config and Slurm script per run."""

    name: str = Field(description="Name of the grid (prefix of nothing; for messages and lineage).")
    backbones: dict[int, Backbone] = Field(
        description="Backbone digit -> model (0 Llama-3.1-8B, 1 Latxa-3.1-8B, 2 Llama-3.1-8B-Instruct)."
    )
    groups: dict[Literal["corpus_eu", "inst_eu", "inst_en"], list[TrainDataset]] = Field(
        description="The dataset groups a code's flags switch on, by position: corpus_eu, inst_eu, inst_en."
    )
    codes: list[str] = Field(min_length=1, description="Codes to expand, e.g. [0_010, 2_111].")
    runs: list[GridRun] = Field(default_factory=list, description="Runs beside the codes.")
    run_name: str = Field("exp_{code}", description="Run name of a code; `{code}` is replaced.")
    seed: int = Field(PUBLISHED_SEED, description="Seed of every run (published: 33).")
    seeds: dict[str, int] = Field(
        default_factory=dict,
        description="Per code: seed instead of `seed` (published: 2_010 used 42).",
    )
    chat: ChatDefaults = Field(
        default_factory=ChatDefaults, description="Defaults of every chat dataset."
    )
    test_datasets: list[TrainDataset] = Field(
        default_factory=list, description="axolotl test_datasets of every run."
    )
    hyperparameters: dict[str, Any] = Field(
        default_factory=dict,
        description="axolotl settings replacing or adding to the published ones for every run.",
    )
    output_root: str = Field("./outputs", description="Checkpoints go to <output_root>/<run name>.")
    slurm: SlurmSpec = Field(default_factory=SlurmSpec, description="Slurm launch settings.")

    @field_validator("codes", "seeds", mode="before")
    @classmethod
    def _quoted(cls, value: Any) -> Any:
        items = value if isinstance(value, list) else list(value) if isinstance(value, dict) else []
        numbers = [str(v) for v in items if isinstance(v, int)]
        if numbers:
            raise ValueError(
                f"quote the codes ({', '.join(numbers)} were read as numbers): YAML reads 2_011 as 2011, write '2_011'"
            )
        return value

    @field_validator("codes")
    @classmethod
    def _codes(cls, codes: list[str]) -> list[str]:
        for code in codes:
            _check_code(code)
        repeated = sorted({c for c in codes if codes.count(c) > 1})
        if repeated:
            raise ValueError(f"codes must be unique (repeated: {', '.join(repeated)})")
        return codes

    @field_validator("hyperparameters")
    @classmethod
    def _hyper(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _check_axolotl(value)

    @model_validator(mode="after")
    def _consistent(self) -> GridSpec:
        for run in self.runs:
            _check_code(run.code)
            _check_axolotl(run.axolotl)
            unknown = sorted(set(run.groups) - set(GROUPS))
            if unknown:
                raise ValueError(
                    f"run {run.name}: unknown groups {', '.join(unknown)} (allowed: {', '.join(GROUPS)})"
                )
            unknown = sorted(set(run.slurm) - set(SlurmSpec.model_fields))
            if unknown:
                raise ValueError(f"run {run.name}: unknown slurm settings {', '.join(unknown)}")
        for code in [*self.codes, *(r.code for r in self.runs if r.backbone is None)]:
            if int(code[0]) not in self.backbones:
                raise ValueError(f"code {code}: backbone {code[0]} is not in backbones")
        for code in [*self.codes, *(r.code for r in self.runs)]:
            run = next((r for r in self.runs if r.code == code), None)
            for flag, group in zip(code[2:], GROUPS):
                if flag == "1" and not (self.groups.get(group) or (run and run.groups.get(group))):
                    raise ValueError(f"code {code} uses group {group}, which has no datasets")
        unknown_seeds = sorted(set(self.seeds) - set(self.codes))
        if unknown_seeds:
            raise ValueError(f"seeds names codes that are not in codes: {', '.join(unknown_seeds)}")
        names = [self.run_name.format(code=c) for c in self.codes] + [r.name for r in self.runs]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"run names must be unique (repeated: {', '.join(repeated)})")
        return self


@dataclass(frozen=True)
class PlannedRun:
    """One run of the grid: its name, code, train spec and Slurm settings."""

    name: str
    code: str
    spec: TrainSpec
    slurm: SlurmSpec


def _datasets(
    code: str, groups: dict[str, list[TrainDataset]], chat: ChatDefaults
) -> list[TrainDataset]:
    on = {group for flag, group in zip(code[2:], GROUPS) if flag == "1"}
    return [chat.apply(d) for group in DATASET_ORDER if group in on for d in groups.get(group, [])]


def _plan(
    grid: GridSpec,
    name: str,
    code: str,
    backbone: Backbone,
    groups: dict[str, list[TrainDataset]],
    seed: int,
    extra: dict[str, Any],
    slurm: SlurmSpec,
) -> PlannedRun:
    output = f"{grid.output_root.rstrip('/')}/{name}"
    axolotl = {
        **PUBLISHED_HYPERPARAMETERS,
        **grid.hyperparameters,
        "output_dir": output,
        "dataset_prepared_path": f"{output}/dataset_cache",
        **extra,
    }
    spec = TrainSpec(
        name=name,
        base_model=backbone.model,
        base_model_revision=backbone.revision,
        seed=seed,
        chat_template=grid.chat.chat_template,
        datasets=_datasets(code, groups, grid.chat),
        test_datasets=[grid.chat.apply(d) for d in grid.test_datasets],
        axolotl=axolotl,
    )
    return PlannedRun(name, code, spec, slurm)


def expand(grid: GridSpec) -> list[PlannedRun]:
    """Every code, then every extra run, as a planned run (nothing resolved yet)."""
    planned = []
    for code in grid.codes:
        planned.append(
            _plan(
                grid,
                grid.run_name.format(code=code),
                code,
                grid.backbones[int(code[0])],
                dict(grid.groups),
                grid.seeds.get(code, grid.seed),
                {},
                grid.slurm,
            )
        )
    for run in grid.runs:
        planned.append(
            _plan(
                grid,
                run.name,
                run.code,
                run.backbone or grid.backbones[int(run.code[0])],
                {**grid.groups, **run.groups},
                run.seed if run.seed is not None else grid.seed,
                run.axolotl,
                grid.slurm.model_copy(update=run.slurm),
            )
        )
    return planned


def slurm_script(run: PlannedRun, config: Path) -> str:
    """A Slurm batch script launching `axolotl.cli.train` on every node of the run."""
    s = run.slurm
    lines = [
        "#!/bin/bash",
        f"#SBATCH --job-name={run.name}",
        f"#SBATCH --nodes={s.nodes}",
        "#SBATCH --ntasks-per-node=1",
        f"#SBATCH --gres=gpu:{s.gpus_per_node}",
        f"#SBATCH --cpus-per-task={s.cpus_per_task}",
        f"#SBATCH --mem={s.mem}",
        f"#SBATCH --time={s.time}",
        f"#SBATCH --output=.slurm/{run.name}.out",
        f"#SBATCH --error=.slurm/{run.name}.err",
    ]
    if s.account:
        lines.append(f"#SBATCH -A {s.account}")
    if s.partition:
        lines.append(f"#SBATCH -p {s.partition}")
    lines += [
        f"# Generated by `factory train grid` for {run.name} (code {run.code}); regenerate it rather than editing it.",
        "set -euo pipefail",
        *s.setup,
        f"export OMP_NUM_THREADS={s.cpus_per_task}",
        *(f"export {k}={shlex.quote(v)}" for k, v in sorted(s.env.items())),
        f"MASTER_PORT={s.main_process_port}",
        'MAIN_PROCESS_IP=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)',
        "",
    ]
    target = shlex.quote(str(config))
    if s.launcher == "accelerate":
        launch = [
            "srun accelerate launch",
            f"--num_processes {s.nodes * s.gpus_per_node}",
            f"--num_machines {s.nodes}",
            "--mixed_precision bf16",
            "--dynamo_backend no",
            "--rdzv_backend c10d",
            '--main_process_ip "$MAIN_PROCESS_IP"',
            '--main_process_port "$MASTER_PORT"',
            '--machine_rank "$SLURM_NODEID"',
        ]
        if s.fsdp:
            launch.append("--use_fsdp")
            if s.fsdp.get("fsdp_sharding_strategy") == "HYBRID_SHARD":
                launch.append(f'--fsdp_device_mesh "({s.nodes},{s.gpus_per_node})"')
            launch += [f"--{k} {shlex.quote(v)}" for k, v in s.fsdp.items()]
        launch.append(f"-m axolotl.cli.train {target}")
    else:
        launch = [
            "srun torchrun",
            f"--nnodes {s.nodes}",
            f"--nproc_per_node {s.gpus_per_node}",
            "--rdzv_backend c10d",
            '--rdzv_endpoint "$MAIN_PROCESS_IP:$MASTER_PORT"',
            f"-m axolotl.cli.train {target}",
        ]
    lines.append(" \\\n    ".join(launch))
    return "\n".join(lines) + "\n"
