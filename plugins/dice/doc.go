// Package dice is Rosey's dice-roller plugin: !roll with D&D dice notation
// and !flip for a coin.
//
// Notation (see Parse): NdM, dM, d%, several terms and constants (2d6+1d4-1),
// keep/drop highest/lowest (4d6kh3, 4d6dl1, 2d20kl1), exploding dice (3d6!,
// capped by Limits.MaxExplosions), and adv/dis (2d20kh1/2d20kl1). A bare
// !roll rolls DefaultRoll (1d20).
//
// A reply names the notation and lists each die, then the total: "🎲 Rolled
// 2d6: [3, 5] = 8". Text after the notation is a label said back with the
// roll: "!roll 2d6 for damage" answers "🎲 Rolled 2d6 for damage: [3, 5] = 8".
// Dropped dice are shown in parentheses and a die that exploded is followed
// by "!":
//
//	🎲 Rolled 4d6kh3: [6, 5, 4, (1)] = 15
//	🎲 Rolled 3d6!: [6!, 2, 3, 4] = 15
//
// Parentheses rather than strike-through or emphasis, because CyTube turns
// *x*, _x_ and ~~x~~ into markup. Invalid notation gets a "❌" reason and the
// usage line.
//
// Parse and Expr.Roll are public so other plugins can roll dice too. The
// random source is Config.Rand, injectable for deterministic tests.
//
// Config section (all optional):
//
//	{"max_dice": 100, "max_sides": 1000, "max_explosions": 50, "max_length": 80, "default": "1d20"}
package dice
