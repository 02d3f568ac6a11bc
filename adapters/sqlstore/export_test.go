package sqlstore

// Statements returns how many statements the store and its transactions
// ran through exec, get and selectAll.
func (s *Store) Statements() int64 { return s.statements.Load() }
