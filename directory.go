package switchboard

// Entry is a person's numbers in the directory, in E.164 digits without the
// "+"; an empty field means the person has no such number. The policy file
// holds entries, and a directory admin's entry (kept in Redis) overrides the
// policy's.
type Entry struct {
	Mobile string
	Fixed  string
}
