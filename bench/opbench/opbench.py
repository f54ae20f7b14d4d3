import torch,time,sys
t=int(sys.argv[1]); torch.set_num_threads(t); torch.set_num_interop_threads(1)
with torch.inference_mode():
    x,y,w,w2,x32=torch.randn(1,128),torch.randn(1,128),torch.randn(384,128),torch.randn(512,128),torch.randn(32,128)
    for rep in range(3):
        t0=time.perf_counter_ns()
        for i in range(20000): x.add(y)
        t1=time.perf_counter_ns()
        for i in range(20000): torch.nn.functional.linear(x,w)
        t2=time.perf_counter_ns()
        for i in range(20000): torch.nn.functional.linear(x32,w2)
        t3=time.perf_counter_ns()
        print("threads %d: add (1,128) %.1f us, linear (1,128)x(384,128) %.1f us, linear (32,128)x(512,128) %.1f us"%(t,(t1-t0)/2e7,(t2-t1)/2e7,(t3-t2)/2e7))
