// Package switchboard is the shared vocabulary of Switchboard, the Slack
// chat-ops bot for Proximus EnCo's APIs: the words every other package uses
// to speak of the same things. An [Operation] is one person's request, from
// its confirmation to its last result, with its [Params] and its [Target]s;
// its kind is one of the Kind constants, which are the permission names a
// policy grants (the Perm constants); an [Entry] is a person's numbers in
// the directory.
//
// It holds types, constants and the few methods that read or write them
// (how an operation is kept as JSON, how a target is spelled), and imports
// nothing of the project: the packages that store, check, run and report
// operations import it, never the reverse.
package switchboard
