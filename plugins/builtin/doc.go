// Package builtin lists the plugins that ship with Rosey, so a program can
// run all of them with one call. It is a plain function, not a registry:
// every call returns fresh instances with their default configuration
// (each plugin reads its own section of the bot's config when it starts).
package builtin
