// Package web serves the animators' page: the figures of their community
// over time and the digest editor, behind a login that needs no account (a
// one-time link the bot sends by direct message).
package web
