package vk

// Test hooks for the external test package.

// SetForceStaging makes devices opened afterwards use staging copies as on
// a discrete GPU, and returns the previous setting.
func SetForceStaging(on bool) bool {
	old := forceStaging
	forceStaging = on
	return old
}

// SetNoSubgroup disables the subgroup kernel variants for devices opened
// afterwards, and returns the previous setting.
func SetNoSubgroup(on bool) bool {
	old := noSubgroup
	noSubgroup = on
	return old
}

// Pick exposes the device choice.
var Pick = pick
