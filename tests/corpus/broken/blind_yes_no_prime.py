# expect: blind /the word 'no'|reference 'no'/
# broken: most random numbers are composite, so answering "no" pays in most instances
"""Is the number prime? Answer yes or no."""
import random


class IsPrime:
    name = "is_prime"
    description = "Decide whether a given integer is prime. Answer yes or no."
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"prime-{seed}-{difficulty}")
        return {"number": rng.randint(10 ** (difficulty + 1), 10 ** (difficulty + 2))}

    def prompt(self, instance):
        return f"Is {instance['number']} a prime number? Reply <answer>yes</answer> or <answer>no</answer>."

    def reference(self, instance):
        n = instance["number"]
        if n < 2:
            return "no"
        i = 2
        while i * i <= n:
            if n % i == 0:
                return "no"
            i += 1 if i == 2 else 2
        return "yes"

    def score(self, instance, answer):
        return 1.0 if answer.strip().lower() == self.reference(instance) else 0.0
