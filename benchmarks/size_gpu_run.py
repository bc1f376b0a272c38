"""On-paper sizing of a collection at the paper's budget with a GPU-served policy (issue 14).

Measures from a trees file, with the SmolLM2 tokenizer: generated tokens per node, prompt tokens per
stored expansion prompt (chat template applied), nodes per MCTS iteration. Combines them with an
*assumed* vLLM throughput per GPU (flags; not measured here, no GPU) and the env cost per node from
BENCHMARKS.md (RandomValidAgent MCTS, in-process: 6,029 nodes/s on one core), into nodes/s and hours
for N GPU nodes. Every prompt is counted as prefilled in full (no prefix caching): an upper bound.

    HF_HUB_OFFLINE=1 python benchmarks/size_gpu_run.py runs/qs4-s2/round0/trees.jsonl
"""

from __future__ import annotations

import argparse
import json
import statistics


def measure(path: str) -> dict[str, float]:
    from agentsearch.llm.models import load_tokenizer

    tokenizer = load_tokenizer("smollm2-135m")
    generated, prompts, nodes_per_iteration = [], [], []
    for line in open(path, encoding="utf-8"):
        tree = json.loads(line)
        nodes = tree["nodes"]
        generated += nodes["num_tokens"][1:]  # the root is the task, not generated
        for prompt in nodes["prompt"]:
            if prompt:
                text = tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=False)
                prompts.append(len(tokenizer(text, add_special_tokens=False).input_ids))
        nodes_per_iteration.append((len(nodes["parent"]) - 1) / tree["config"]["iterations"])
    return {
        "trees": len(nodes_per_iteration),
        "generated_per_node": statistics.mean(generated),
        "prompt_per_node": statistics.mean(prompts),
        "nodes_per_iteration": statistics.mean(nodes_per_iteration),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("trees")
    p.add_argument("--decode-tok-s", type=float, default=10_000.0,
                   help="ASSUMED vLLM generated tokens/s per GPU for a 3B model at high concurrency")
    p.add_argument("--prefill-tok-s", type=float, default=50_000.0, help="ASSUMED prompt tokens/s per GPU")
    p.add_argument("--env-nodes-s", type=float, default=6029.0,
                   help="env + search nodes/s per CPU core (BENCHMARKS.md, Scale-out on Ray, in-process)")
    p.add_argument("--cores-per-node", type=int, default=16, help="CPU cores per GPU node running envs")
    p.add_argument("--tasks", type=int, default=3000)
    p.add_argument("--iterations", type=int, default=30)
    args = p.parse_args()

    m = measure(args.trees)
    gpu_s_per_node = m["generated_per_node"] / args.decode_tok_s + m["prompt_per_node"] / args.prefill_tok_s
    nodes = args.tasks * args.iterations * m["nodes_per_iteration"]
    print(f"{args.trees}: {m['trees']} trees; {m['generated_per_node']:.1f} generated and "
          f"{m['prompt_per_node']:.0f} prompt tokens per node; {m['nodes_per_iteration']:.2f} nodes per "
          f"iteration -> {nodes:,.0f} nodes for {args.tasks} tasks x {args.iterations} iterations")
    print("| GPU nodes | nodes/s | hours |\n|---:|---:|---:|")
    for n in (1, 2, 4, 8):
        rate = min(n / gpu_s_per_node, n * args.cores_per_node * args.env_nodes_s)
        print(f"| {n} | {rate:,.0f} | {nodes / rate / 3600:.2f} |")


if __name__ == "__main__":
    main()
