// Package doccheck holds a test over the module's Go sources: every doc
// comment of an exported identifier starts with that identifier's name
// (optionally after "A", "An" or "The"), as go doc and pkg.go.dev expect,
// so a comment left behind by a rename is caught.
package doccheck
