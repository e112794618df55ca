package daemon

// Reexecuted reports whether this process is one that Start re-executed.
// Those run the program's main again, with the same arguments, and main must
// call Start at once with the same Config: before it, descriptors 3 and 4
// belong to Start and are not yet close-on-exec. A main that does more than
// start for a command, like a restart that stops the old daemon first, asks
// Reexecuted to skip that in the re-executed processes. Where Start is not
// supported it is always false.
func Reexecuted() bool {
	return reexecuted()
}
