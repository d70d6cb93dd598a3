"""Where does a robot end up after a list of turn-and-move commands?

Solve-verify asymmetry, kind 1: simulation is a loop; by hand, tracking the
heading through many left and right turns goes wrong quickly.

Style under test: an ``enum.Enum`` for the headings, read through the public
Enum API ``Heading.__members__`` (the documented name -> member mapping).
"""

import enum
import random
import re

_POSITION = re.compile(r"\s*(0|-?[1-9][0-9]{0,5})\s*[ ,]\s*(0|-?[1-9][0-9]{0,5})\s*")


class Heading(enum.Enum):
    NORTH = (0, 1)
    EAST = (1, 0)
    SOUTH = (0, -1)
    WEST = (-1, 0)


ORDER = list(Heading.__members__)  # clockwise: NORTH, EAST, SOUTH, WEST


class RobotWalk:
    name = "robot_walk"
    description = (
        "A robot starts at (0, 0) facing NORTH and follows commands: turn left, turn right, or move "
        "forward some steps. The answer is its final position as two integers x y."
    )
    max_difficulty = 10

    def sample(self, seed: int, difficulty: int) -> dict:
        rng = random.Random(f"{seed}:{difficulty}")
        commands = []
        for _ in range(3 + 3 * difficulty):  # 6 .. 33 commands
            kind = rng.choice(["L", "R", "F", "F"])
            commands.append(f"F{rng.randint(1, 2 + difficulty)}" if kind == "F" else kind)
        return {"commands": commands}

    def prompt(self, instance: dict) -> str:
        said = {"L": "turn left 90 degrees", "R": "turn right 90 degrees"}
        steps = "\n".join(f"{i}. {said.get(c) or 'move forward ' + c[1:] + ' steps'}"
                          for i, c in enumerate(instance["commands"], start=1))
        return (
            f"A robot stands at (0, 0) facing NORTH; the headings in clockwise order are "
            f"{', '.join(ORDER)}. NORTH increases y and EAST increases x.\n{steps}\n\n"
            "Where is the robot at the end? Give its position as two integers x y separated by a "
            "space inside <answer>...</answer>."
        )

    def final(self, instance: dict) -> tuple[int, int]:
        x = y = 0
        facing = 0
        for command in instance["commands"]:
            if command == "L":
                facing = (facing - 1) % 4
            elif command == "R":
                facing = (facing + 1) % 4
            else:
                dx, dy = Heading[ORDER[facing]].value
                x, y = x + dx * int(command[1:]), y + dy * int(command[1:])
        return x, y

    def reference(self, instance: dict) -> str:
        x, y = self.final(instance)
        return f"{x} {y}"

    def score(self, instance: dict, answer: str) -> float:
        if not isinstance(answer, str) or len(answer) > 50:
            return 0.0
        match = _POSITION.fullmatch(answer)
        if match is None:
            return 0.0
        return 1.0 if (int(match.group(1)), int(match.group(2))) == self.final(instance) else 0.0
