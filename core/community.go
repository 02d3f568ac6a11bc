package core

import "time"

// CommunityID identifies a community in the store.
type CommunityID int64

// DefaultCommunity is the name of the community that rooms join when no
// other community claims them.
const DefaultCommunity = "default"

// Community is a set of rooms, possibly on several platforms, whose members
// help each other.
type Community struct {
	ID        CommunityID
	Name      string
	CreatedAt time.Time
}

// Room is a place where people talk on one platform: a Matrix room, a Slack
// channel, a Discord channel, a console room such as "#general".
type Room struct {
	Platform Platform
	ID       string
}

// MessageRef points at one message on one platform, and at the room and
// thread it belongs to. It is how answers find their way back to the asker.
type MessageRef struct {
	Platform Platform
	Room     string
	// Message is the platform's id of the message.
	Message string
	// Thread is the id of the thread's root message: replies to the message
	// go there. It equals Message when the message started no thread yet.
	Thread string
	// DM is true when the message was a direct message to the bot.
	DM bool
}
