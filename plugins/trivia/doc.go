// Package trivia is the trivia plugin: timed quiz games in the channel,
// with a persistent leaderboard kept through the database service.
//
// Commands:
//
//	!trivia start [N] [category]   start a game of N questions (default 10)
//	!trivia stop                   end the game (whoever started it, or a moderator)
//	!trivia categories             list the categories and their sizes
//	!trivia top                    the all-time leaderboard
//	!trivia stats [user]           one player's all-time score
//	!a <answer>                    answer the current question (plain chat works too)
//
// Answers are matched tolerantly: case, punctuation and a leading "a", "an"
// or "the" are ignored, and a small typo is forgiven (one edit for answers of
// up to 8 characters, two for longer ones; numbers and answers of up to 3
// characters must be exact). A hint appears at half time. A correct answer
// earns 1 to 10 points, more the faster it comes.
//
// The built-in bank holds over 200 questions in 10 categories, embedded in
// the binary; Config.QuestionsFile adds a JSON file of your own in the same
// shape:
//
//	[{"category": "movies", "question": "Who directed Jaws?", "answer": "Steven Spielberg", "alternatives": ["Spielberg"]}]
//
// One game runs per channel. Questions, hints and results are said in the
// channel by the game's goroutine; timers are configurable (Config) so tests
// can run games in milliseconds, and the random source is injectable.
package trivia
