import random

OPS = ("push", "add", "mul", "dup", "swap", "pop")


class StackMachineDigit:
    name = "stack_machine_digit"
    description = (
        "Run a short program on a stack machine (push, add, mul, dup, swap, pop) and report the last "
        "decimal digit of the value on top of the stack at the end."
    )
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"stack:{seed}:{difficulty}")
        program, depth = [], 0
        for _ in range(4 + 3 * difficulty):
            choices = ["push"] + (["dup"] if depth >= 1 else []) + (["add", "mul", "swap"] if depth >= 2 else []) \
                + (["pop"] if depth >= 3 else [])
            op = rng.choice(choices)
            if op == "push":
                program.append(["push", rng.randint(1, 5 * difficulty + 4)])
                depth += 1
            else:
                program.append([op])
                depth += {"dup": 1, "add": -1, "mul": -1, "swap": 0, "pop": -1}[op]
        if depth == 0:
            program.append(["push", rng.randint(1, 9)])
        return {"program": program}

    def prompt(self, instance):
        lines = [" ".join(str(part) for part in step) for step in instance["program"]]
        return (
            "A stack machine starts with an empty stack and runs these instructions in order:\n"
            + "\n".join(lines)
            + "\n\npush X puts X on top; add and mul pop two values and push their sum or product; dup copies "
            "the top; swap exchanges the top two; pop discards the top. What is the last decimal digit of the "
            "value on top of the stack at the end? Answer with that one digit inside <answer>...</answer>."
        )

    def reference(self, instance):
        stack = []
        for step in instance["program"]:
            op = step[0]
            if op == "push":
                stack.append(step[1])
            elif op == "dup":
                stack.append(stack[-1])
            elif op == "pop":
                stack.pop()
            elif op == "swap":
                stack[-1], stack[-2] = stack[-2], stack[-1]
            else:
                b, a = stack.pop(), stack.pop()
                stack.append(a + b if op == "add" else a * b)
        return str(stack[-1] % 10)

    def score(self, instance, answer):
        if not isinstance(answer, str) or len(answer) > 20:
            return 0.0
        return 1.0 if answer.strip() == self.reference(instance) else 0.0
