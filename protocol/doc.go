// Package protocol names the subjects of Rosey's wire contract and the Go
// types of their JSON payloads (cytube.*, platform.*). Connectors, the router
// and plugins share these types; docs/PROTOCOL.md describes the same contract
// for other languages.
package protocol
