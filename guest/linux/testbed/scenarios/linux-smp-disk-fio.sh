# linux-smp-disk-fio: linux-disk-fio with 2 vCPUs, so the disk has 2 queues (VIRTIO_BLK_F_MQ,
# one per vCPU by default) and fio verifies one job on each at once, through io_uring
# (`io=async`). Runs in the 4-vCPU L1 (the linux-smp* rule in testbed.sh).
scenario_linux_smp_disk_fio() {
    disk_fio_verify 2
}
