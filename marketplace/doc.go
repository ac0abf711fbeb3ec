// Package marketplace finds, installs, upgrades and removes community
// plugins: Go modules built with the Go toolchain and npm packages, each
// run by the bot as a process of its own under a NATS user that may use
// only its own subjects and those its manifest declares.
//
// A plugin declares itself in a manifest, rosey-plugin.json (Manifest),
// which the installer reads without running any of the plugin's code and
// which plugin.Serve checks against the running plugin's Info. Catalogues
// (Catalogue, a JSON index served by URL or kept in a file) list plugins
// by name; Shipped is the one that comes with Rosey. An Installer works
// in a plugins folder: every version is built into a folder of its own,
// and the record of installed plugins (StateFile) switches to it only
// when it is complete, so a failed install or upgrade changes nothing. A
// running bot watches that record (package rosey), so an install or a
// removal takes effect without a restart.
//
// The reference binary drives it: rosey plugin search|install|list|info|
// upgrade|remove, and rosey run --install-plugin. docs/PLUGINS.md says how
// to publish a plugin.
package marketplace
