import random


class HanoiMove:
    name = "hanoi_move"
    description = (
        "In the optimal solution of the Tower of Hanoi with n disks, which disk moves at step t? "
        "Disks are numbered 1 (smallest) to n. The answer is one integer."
    )
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"hanoi:{seed}:{difficulty}")
        disks = 3 + 2 * difficulty
        step = rng.randint(1, 2 ** disks - 1)
        return {"disks": disks, "step": step}

    def prompt(self, instance):
        return (
            f"Tower of Hanoi with {instance['disks']} disks, numbered 1 (smallest) to {instance['disks']} (largest), "
            f"solved in the minimum number of moves. Which disk is moved at move number {instance['step']} "
            "(counting from 1)? Give the disk number inside <answer>...</answer>."
        )

    def reference(self, instance):
        step, disk = instance["step"], 1
        while step % 2 == 0:
            step //= 2
            disk += 1
        return str(disk)

    def score(self, instance, answer):
        if not isinstance(answer, str) or len(answer) > 50:
            return 0.0
        return 1.0 if answer.strip() == self.reference(instance) else 0.0
