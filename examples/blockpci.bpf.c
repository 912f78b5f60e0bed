// SPDX-License-Identifier: GPL-2.0
// blockpci: block requests issued, by the PCI device behind the disk
// (vendor, device, class, subclass).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"

/* How far up the device tree to look for the PCI function: NVMe is the
 * disk's parent, virtio-blk its grandparent, SCSI disks sit deeper. */
#define MAX_DEPTH 6

struct pci_key {
	__u32 vendor;
	__u32 device;   /* vendor << 16 | device, as the pci_device decoder wants */
	__u8 class;     /* base class */
	__u8 _pad;
	__u16 subclass; /* base class << 8 | subclass */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct pci_key);
	__type(value, __u64);
} block_requests_by_pci_device_total SEC(".maps");

static __always_inline bool on_pci_bus(struct device *dev)
{
	const char *bus_name = BPF_CORE_READ(dev, bus, name);
	char name[4] = {};

	if (!bus_name)
		return false;
	bpf_probe_read_kernel_str(name, sizeof(name), bus_name);
	return name[0] == 'p' && name[1] == 'c' && name[2] == 'i' && name[3] == '\0';
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(block_rq_issue, struct request *rq)
{
	struct block_device *whole = BPF_CORE_READ(rq, q, disk, part0);
	struct device *dev;

	if (!whole)
		return 0;
	dev = BPF_CORE_READ(whole, bd_device.parent);

	for (int i = 0; i < MAX_DEPTH && dev; i++) {
		if (on_pci_bus(dev))
			break;
		dev = BPF_CORE_READ(dev, parent);
	}
	if (!dev || !on_pci_bus(dev))
		return 0;

	/* container_of(dev, struct pci_dev, dev), with this kernel's offset. */
	struct pci_dev *pdev = (void *)dev - bpf_core_field_offset(struct pci_dev, dev);
	__u16 vendor = BPF_CORE_READ(pdev, vendor);
	__u16 device = BPF_CORE_READ(pdev, device);
	__u32 class = BPF_CORE_READ(pdev, class); /* base << 16 | sub << 8 | prog-if */
	struct pci_key key = {
		.vendor = vendor,
		.device = (__u32)vendor << 16 | device,
		.class = class >> 16,
		.subclass = class >> 8,
	};

	increment_map(&block_requests_by_pci_device_total, &key, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
