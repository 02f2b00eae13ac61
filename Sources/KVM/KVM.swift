// KVM descriptor wrappers.
