# expect: L5 label & /winner/
# broken: the prompt dumps the instance as JSON, including the hidden winner; a one-word answer was never checked for leaks
"""Round-robin tournament winner, broken on purpose: json.dumps(instance) shows the answer."""

import json
import random

TEAMS = ["lions", "tigers", "bears", "wolves", "hawks", "sharks", "eagles", "foxes", "otters",
         "rams", "bulls", "owls", "crows", "moose"]


class TournamentWinner:
    name = "tournament_winner"
    description = (
        "Teams play a round robin; a win is 3 points, a draw 1. The answer is the team with the most "
        "points (ties go to the team listed first)."
    )
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}:{difficulty}")
        teams = rng.sample(TEAMS, 3 + difficulty // 2)
        games = []
        for i, a in enumerate(teams):
            for b in teams[i + 1:]:
                games.append([a, b, rng.randint(0, 4), rng.randint(0, 4)])
        points = {t: 0 for t in teams}
        for a, b, x, y in games:
            points[a] += 3 if x > y else 1 if x == y else 0
            points[b] += 3 if y > x else 1 if x == y else 0
        best = max(teams, key=lambda t: (points[t], -teams.index(t)))
        return {"teams": teams, "games": games, "winner": best}

    def prompt(self, instance):
        return (
            "Tournament data:\n" + json.dumps(instance, indent=1) +
            "\n\nEach game is [home, away, home goals, away goals]. A win is worth 3 points and a draw 1. "
            "Which team has the most points (on a tie, the one listed first in teams)?\n"
            "Answer with the team name inside <answer>...</answer>."
        )

    def reference(self, instance):
        return instance["winner"]

    def score(self, instance, answer):
        if not isinstance(answer, str) or len(answer) > 40:
            return 0.0
        return 1.0 if answer.strip().lower() == instance["winner"] else 0.0
