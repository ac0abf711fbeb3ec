// Package quotedb is the quote-db plugin: a channel's collection of
// memorable lines, stored through the database service.
//
// Commands (one command word, "quote", with sub-commands):
//
//	!quote add <text> [— author]   store a quote (author defaults to the caller; "-- author" works too)
//	!quote [id]                    show quote #id, or a random one
//	!quote random                  show a random quote
//	!quote search <words>          find quotes containing every word
//	!quote del <id>                delete a quote (moderators, or whoever added it)
//	!quote count                   how many quotes there are
//
// A quote is shown as: Quote #42: 'Hello!' - alice.
// Ids are integers assigned by the database service, so they survive a
// restart and several bot processes sharing one database agree on them.
//
// A random quote costs the same however many quotes there are: the plugin
// reads the highest id (a query sorted by "-$id", an index lookup) and gets
// random ids up to it, trying another on a deleted one, so each quote is
// equally likely. Only a collection where most ids are gone (or whose ids
// are not integers) is served by a count and an offset, which cost its size.
//
// Commands are served up to 16 at once (plugin.Host.Concurrency), each
// user's in the order said: many users' adds wait on the database together
// and are committed together.
//
// The plugin's config section (JSON) may set "collection" and
// "max_length"; see Config.
package quotedb
