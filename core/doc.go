// Package core is what the entraide network does, independent of any chat
// platform or database: people and their identities, communities and their
// rooms, experts, questions and answers with their state machine, and the
// Network service that routes questions to experts.
//
// Core depends on the standard library (and a few pure text-analysis
// modules used by core/match); a test keeps chat SDKs and database drivers
// out of its dependencies.
package core
