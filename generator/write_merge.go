package generator

// conflictStart begins the first line of a conflict that a merge leaves.
const conflictStart = "<<<<<<< "

// A Merge is the result of a three-way merge of a generated file that was
// edited by hand: its bytes, and how many conflicts they hold.
type Merge struct {
	Data      []byte
	Conflicts int
}
