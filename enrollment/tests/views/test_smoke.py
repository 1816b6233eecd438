import time
from enrollment import scep
from enrollment.tests.fixtures import Device

def test_smoke(transactional_db, scep_client, device_keys):
    t=time.monotonic()
    d = Device.create(device_keys[0])
    r = scep_client.enroll(d)
    print(r.status, r.fail_info, r.fail_info_text, time.monotonic()-t)
    assert r.status is scep.PkiStatus.SUCCESS

def test_smoke2(db, scep_client, device_keys):
    t=time.monotonic()
    d = Device.create(device_keys[0])
    r = scep_client.enroll(d)
    print(r.status, r.fail_info, r.fail_info_text, time.monotonic()-t)
